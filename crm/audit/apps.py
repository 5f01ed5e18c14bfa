from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "crm.audit"
    label = "audit"
    verbose_name = _("Audit trail")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import sys

        from . import panels, receivers  # noqa: F401  (registrations)
        from .context import command_context_enter

        command_context_enter(sys.argv)
