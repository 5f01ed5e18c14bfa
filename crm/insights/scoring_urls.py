"""/insights/contact/: "who to contact this week" (crm/insights/scoring_views.py), namespace ``insights_scoring``."""

from django.urls import path

from . import scoring_views

app_name = "insights_scoring"

urlpatterns = [
    path("", scoring_views.ContactListView.as_view(), name="contact_list"),
    path("export.csv", scoring_views.contact_export, name="contact_export"),
    path("<int:pk>/call/", scoring_views.contact_call, name="contact_call"),
    path("<int:pk>/call/<int:touchpoint>/undo/", scoring_views.contact_call_undo, name="contact_call_undo"),
    path("<int:pk>/follow-up/", scoring_views.contact_followup, name="contact_followup"),
]
