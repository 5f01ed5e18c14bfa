"""The journey's routes of ``/api/v1/`` (composed with the customers' in crm/urls.py, namespace ``api``)."""

from django.urls import path

from . import api

urlpatterns = [
    path("customers/<int:pk>/touchpoints/", api.CustomerTouchpointListView.as_view(), name="customer_touchpoints"),
    path("touchpoints/", api.TouchpointCreateView.as_view(), name="touchpoints"),
]
