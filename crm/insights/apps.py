from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "crm.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from . import panels, receivers

        receivers.connect()
        panels.register()  # the RFM score panel on the customer page
