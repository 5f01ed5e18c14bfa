"""``/feedback/``: the public form and survey pages, and the staff pages under it (included from crm/urls.py)."""

from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    # Public: anyone may open these.
    path("", views.feedback_form, name="form"),
    path("thanks/", views.feedback_thanks, name="thanks"),
    path("s/<str:token>/", views.survey_answer, name="survey"),
    # Staff.
    path("tickets/", views.ticket_queue, name="queue"),
    path("tickets/new/", views.ticket_create, name="ticket_create"),
    path("tickets/bulk/", views.tickets_bulk, name="bulk"),
    path("tickets/customers/", views.customer_search, name="customer_search"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/messages/", views.ticket_messages, name="ticket_messages"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/assign/", views.ticket_assign, name="ticket_assign"),
    path("tickets/<int:pk>/edit/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/canned/", views.ticket_canned, name="ticket_canned"),
    path("customers/<int:pk>/nps/", views.survey_send, name="survey_send"),
    path("surveys/", views.survey_list, name="surveys"),
    path("figures/", views.figures, name="figures"),
    path("canned/", views.CannedResponseListView.as_view(), name="canned"),
    path("canned/new/", views.CannedResponseCreateView.as_view(), name="canned_create"),
    path("canned/<int:pk>/edit/", views.CannedResponseUpdateView.as_view(), name="canned_update"),
    path("canned/<int:pk>/delete/", views.CannedResponseDeleteView.as_view(), name="canned_delete"),
]
