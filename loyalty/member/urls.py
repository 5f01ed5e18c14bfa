from django.urls import path

from . import views

app_name = "member"

urlpatterns = [
    path("", views.start, name="start"),
    path("code/", views.code, name="code"),
    path("open/<str:token>/", views.open_link, name="open"),
    path("card/", views.card_page, name="card"),
    path("card/redeem/", views.redeem, name="redeem"),
    path("card/vouchers/<int:pk>/", views.voucher, name="voucher"),
    path("card/line/", views.line_link, name="line_link"),
    path("card/sign-out/", views.sign_out, name="sign_out"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("r/<str:code>/", views.referral, name="referral"),
]
