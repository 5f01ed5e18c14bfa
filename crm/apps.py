from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Tsunagu")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401 - registers the start-up checks
        from .accounts.timeout import session_stamp

        user_logged_in.connect(session_stamp, dispatch_uid="tsunagu_session_stamp")
