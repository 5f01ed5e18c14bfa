from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataProtectionConfig(AppConfig):
    name = "crm.dataprotection"
    label = "dataprotection"
    verbose_name = _("Privacy requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import panels  # noqa: F401  (the buttons on the customer page)
