from django.urls import path

from . import views

app_name = "touchpoints"

urlpatterns = [
    path("", views.TouchpointListView.as_view(), name="list"),
    path("funnel/", views.funnel, name="funnel"),
    path("customers/<int:pk>/log/", views.touchpoint_log, name="log"),
    path("customers/<int:pk>/stage/", views.journey_move, name="journey_move"),
    path("types/", views.TouchpointTypeListView.as_view(), name="types"),
    path("types/new/", views.TouchpointTypeCreateView.as_view(), name="type_create"),
    path("types/<int:pk>/edit/", views.TouchpointTypeUpdateView.as_view(), name="type_update"),
    path("api-keys/", views.api_key_list, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
