from django.urls import path

from . import outreach_views, views

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
    # Outreach
    path("outreach/templates/", outreach_views.TemplateListView.as_view(), name="templates"),
    path("outreach/templates/new/", outreach_views.TemplateCreateView.as_view(), name="template_create"),
    path("outreach/templates/<int:pk>/edit/", outreach_views.TemplateUpdateView.as_view(), name="template_update"),
    path("outreach/templates/<int:pk>/preview/", outreach_views.template_preview, name="template_preview"),
    path("outreach/rules/", outreach_views.RuleListView.as_view(), name="rules"),
    path("outreach/rules/new/", outreach_views.RuleCreateView.as_view(), name="rule_create"),
    path("outreach/rules/<int:pk>/edit/", outreach_views.RuleUpdateView.as_view(), name="rule_update"),
    path("outreach/outbox/", outreach_views.OutboxListView.as_view(), name="outbox"),
    path("outreach/outbox/<int:pk>/", outreach_views.outbox_detail, name="outbox_detail"),
    path("outreach/outbox/<int:pk>/retry/", outreach_views.outbox_retry, name="outbox_retry"),
    path("outreach/outbox/<int:pk>/cancel/", outreach_views.outbox_cancel, name="outbox_cancel"),
    path("outreach/broadcasts/", outreach_views.BroadcastListView.as_view(), name="broadcasts"),
    path("outreach/broadcasts/new/", outreach_views.broadcast_create, name="broadcast_create"),
    path("outreach/broadcasts/<int:pk>/", outreach_views.broadcast_detail, name="broadcast_detail"),
    path("outreach/broadcasts/<int:pk>/progress/", outreach_views.broadcast_progress, name="broadcast_progress"),
    path("outreach/broadcasts/<int:pk>/cancel/", outreach_views.broadcast_cancel, name="broadcast_cancel"),
    path("outreach/tasks/", outreach_views.task_list, name="tasks"),
    path("outreach/tasks/<int:pk>/done/", outreach_views.task_done, name="task_done"),
    path("outreach/tasks/<int:pk>/reassign/", outreach_views.task_reassign, name="task_reassign"),
    path("outreach/tasks/<int:pk>/snooze/", outreach_views.task_snooze, name="task_snooze"),
]
