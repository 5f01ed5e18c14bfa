"""The feedback endpoints of ``/api/v1/`` (included from crm/urls.py next to the touchpoints API)."""

from django.urls import path

from . import api

app_name = "feedback_api"

urlpatterns = [
    path("tickets/", api.TicketCreateView.as_view(), name="tickets"),
    path("customers/<int:pk>/tickets/", api.CustomerTicketListView.as_view(), name="customer_tickets"),
]
