"""django-celery-beat's admin section, named in the reader's language.

The package ships no Japanese catalogue and calls its section "Periodic Tasks"; our catalogue translates its
model names (listed in ``crm/admin_labels.py`` so makemessages keeps them) and this config names the section.
"""

from django.utils.translation import gettext_lazy as _
from django_celery_beat.apps import BeatConfig


class ScheduledJobsConfig(BeatConfig):
    verbose_name = _("Scheduled jobs")
