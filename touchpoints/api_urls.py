"""``/api/v1/`` (included from crm/urls.py)."""

from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("customers/", api.CustomerUpsertView.as_view(), name="customer_upsert"),
    path("customers/<int:pk>/touchpoints/", api.CustomerTouchpointListView.as_view(), name="customer_touchpoints"),
    path("touchpoints/", api.TouchpointCreateView.as_view(), name="touchpoints"),
]
