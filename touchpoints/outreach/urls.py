"""Staff pages of outreach, under /touchpoints/outreach/ (the addresses they had in the touchpoints app)."""

from django.urls import path

from . import list_actions, views
from .line import pages as line_pages

app_name = "outreach"

urlpatterns = [
    path("templates/", views.TemplateListView.as_view(), name="templates"),
    path("templates/new/", views.TemplateCreateView.as_view(), name="template_create"),
    path("templates/<int:pk>/edit/", views.TemplateUpdateView.as_view(), name="template_update"),
    path("templates/<int:pk>/preview/", views.template_preview, name="template_preview"),
    path("templates/preview/", views.template_preview_unsaved, name="template_preview_unsaved"),
    path("rules/", views.RuleListView.as_view(), name="rules"),
    path("rules/new/", views.RuleCreateView.as_view(), name="rule_create"),
    path("rules/<int:pk>/edit/", views.RuleUpdateView.as_view(), name="rule_update"),
    path("outbox/", views.OutboxListView.as_view(), name="outbox"),
    path("outbox/<int:pk>/", views.outbox_detail, name="outbox_detail"),
    path("outbox/<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
    path("outbox/<int:pk>/cancel/", views.outbox_cancel, name="outbox_cancel"),
    path("broadcasts/", views.BroadcastListView.as_view(), name="broadcasts"),
    path("broadcasts/new/", views.broadcast_create, name="broadcast_create"),
    path("broadcasts/<int:pk>/", views.broadcast_detail, name="broadcast_detail"),
    path("broadcasts/<int:pk>/progress/", views.broadcast_progress, name="broadcast_progress"),
    path("broadcasts/<int:pk>/cancel/", views.broadcast_cancel, name="broadcast_cancel"),
    path("line/contacts/", line_pages.line_contacts, name="line_contacts"),
    path("line/contacts/<int:pk>/link/", line_pages.line_contact_link, name="line_contact_link"),
    path("line/<int:pk>/unlink/", line_pages.line_unlink, name="line_unlink"),
    path("tasks/", views.task_list, name="tasks"),
    path("customers/actions/", list_actions.customer_list_actions, name="customer_list_actions"),
    path("customers/act/", list_actions.customer_list_act, name="customer_list_act"),
    path("customers/<int:customer_pk>/tasks/new/", views.customer_task_create, name="customer_task_create"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("tasks/<int:pk>/reassign/", views.task_reassign, name="task_reassign"),
    path("tasks/<int:pk>/snooze/", views.task_snooze, name="task_snooze"),
]
