"""The customers' routes of ``/api/v1/`` (composed with the other apps' in crm/urls.py, namespace ``api``)."""

from django.urls import path

from . import api

urlpatterns = [
    path("customers/", api.CustomerUpsertView.as_view(), name="customer_upsert"),
]
