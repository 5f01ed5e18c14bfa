"""``/feedback/``: the public form and survey pages, and the staff pages under it (included from crm/urls.py)."""

from django.urls import path

from .views import attachments, canned, figures, public_form, queue, surveys, tickets

app_name = "feedback"

urlpatterns = [
    # Public: anyone may open these.
    path("", public_form.feedback_form, name="form"),
    path("thanks/", public_form.feedback_thanks, name="thanks"),
    path("confirm/<str:token>/", public_form.feedback_confirm, name="confirm"),
    path("s/<str:token>/", surveys.survey_answer, name="survey"),
    # Staff.
    path("tickets/", queue.TicketQueueView.as_view(), name="queue"),
    path("tickets/new/", tickets.ticket_create, name="ticket_create"),
    path("tickets/bulk/", queue.tickets_bulk, name="bulk"),
    path("tickets/customers/", tickets.customer_search, name="customer_search"),
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/messages/", tickets.ticket_messages, name="ticket_messages"),
    path("tickets/<int:pk>/photos/<int:photo_pk>/", tickets.ticket_photo, name="ticket_photo"),
    path("tickets/<int:pk>/reply/", tickets.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/files/<int:attachment_pk>/", attachments.ticket_attachment, name="ticket_attachment"),
    path("tickets/<int:pk>/status/", tickets.ticket_status, name="ticket_status"),
    path("tickets/<int:pk>/assign/", tickets.ticket_assign, name="ticket_assign"),
    path("tickets/<int:pk>/edit/", tickets.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/canned/", tickets.ticket_canned, name="ticket_canned"),
    path("customers/<int:pk>/nps/", surveys.survey_send, name="survey_send"),
    path("surveys/", surveys.survey_list, name="surveys"),
    path("figures/", figures.figures, name="figures"),
    path("canned/", canned.CannedResponseListView.as_view(), name="canned"),
    path("canned/new/", canned.CannedResponseCreateView.as_view(), name="canned_create"),
    path("canned/<int:pk>/edit/", canned.CannedResponseUpdateView.as_view(), name="canned_update"),
    path("canned/<int:pk>/delete/", canned.CannedResponseDeleteView.as_view(), name="canned_delete"),
]
