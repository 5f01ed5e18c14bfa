"""Labels other packages show in the admin without a Japanese catalogue of their own.

Marked here so that makemessages keeps them in locale/ja (Django looks a message up in every catalogue, ours
first), so the admin's scheduled-jobs section reads in Japanese too. Nothing imports this module.
"""

from django.utils.translation import gettext_noop

LABELS = [
    # django-celery-beat's models
    gettext_noop("periodic task"),
    gettext_noop("periodic tasks"),
    gettext_noop("crontab"),
    gettext_noop("crontabs"),
    gettext_noop("interval"),
    gettext_noop("intervals"),
    gettext_noop("solar event"),
    gettext_noop("solar events"),
    gettext_noop("clocked"),
    gettext_noop("periodic task track"),
    gettext_noop("periodic task tracks"),
]
