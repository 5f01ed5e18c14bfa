from django.urls import path

from . import till, views

app_name = "loyalty"

urlpatterns = [
    path("", views.MembershipListView.as_view(), name="members"),
    path("figures/", views.figures, name="figures"),
    path("till/", till.till, name="till"),
    path("till/members/<int:pk>/", till.till_member, name="till_member"),
    path("till/members/<int:pk>/purchase/", till.till_purchase, name="till_purchase"),
    path("till/members/<int:pk>/redeem/", till.till_redeem, name="till_redeem"),
    path("till/members/<int:pk>/voucher/", till.till_voucher, name="till_voucher"),
    path("members/<int:pk>/", views.membership_detail, name="membership_detail"),
    path("members/<int:pk>/status/", views.membership_status, name="membership_status"),
    path("members/<int:pk>/redeem/", views.redeem, name="redeem"),
    path("members/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("members/<int:pk>/card/send/", views.card_send, name="card_send"),
    path("members/<int:pk>/card/reissue/", views.card_reissue, name="card_reissue"),
    path("members/<int:pk>/card/wallet/", views.card_handover, name="card_handover"),
    path("redemptions/<int:pk>/cancel/", views.redemption_cancel, name="redemption_cancel"),
    path("customers/<int:pk>/join/", views.membership_join, name="join"),
    path("programmes/", views.ProgrammeListView.as_view(), name="programmes"),
    path("programmes/new/", views.ProgrammeCreateView.as_view(), name="programme_create"),
    path("programmes/<int:pk>/", views.programme_detail, name="programme_detail"),
    path("programmes/<int:pk>/edit/", views.ProgrammeUpdateView.as_view(), name="programme_update"),
    path("programmes/<int:programme>/tiers/new/", views.TierCreateView.as_view(), name="tier_create"),
    path("programmes/<int:programme>/tiers/<int:pk>/edit/", views.TierUpdateView.as_view(), name="tier_update"),
    path("programmes/<int:programme>/rewards/new/", views.RewardCreateView.as_view(), name="reward_create"),
    path("programmes/<int:programme>/rewards/<int:pk>/edit/", views.RewardUpdateView.as_view(), name="reward_update"),
]
