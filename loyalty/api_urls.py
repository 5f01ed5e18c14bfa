"""Loyalty's endpoints under ``/api/v1/`` (included from crm/urls.py)."""

from django.urls import path

from . import api

app_name = "loyalty_api"

urlpatterns = [
    path("customers/<int:pk>/memberships/", api.CustomerMembershipListView.as_view(), name="customer_memberships"),
    path("loyalty/redemptions/", api.RedemptionCreateView.as_view(), name="redemptions"),
]
