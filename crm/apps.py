from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Tsunagu")

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401 - registers the start-up checks
            receivers,
        )

        receivers.connect()
        from . import panels as crm_panels

        crm_panels.register()  # the RFM score panel on the customer page
