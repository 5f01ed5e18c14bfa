"""A missing secret key stops every process that could sign something.

Settings leave SECRET_KEY empty when DJANGO_DEBUG is off and DJANGO_SECRET_KEY is unset, so that
management commands that sign nothing (makemigrations, migrate, compilemessages) still work on a
fresh clone. The WSGI and ASGI entry points (and so runserver and gunicorn) and the Celery worker
and beat refuse to start; `manage.py check` warns; Django itself refuses to read an empty key.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (see .env.example)."  # noqa: S105


def require_secret_key(**_kwargs) -> None:
    """Raise at start-up of a serving process (WSGI, ASGI, Celery worker or beat) when the key is missing."""
    if settings.TSUNAGU_SECRET_KEY_MISSING:
        raise ImproperlyConfigured(MISSING_SECRET_KEY)


@register()
def secret_key_check(app_configs, **kwargs) -> list:
    if settings.TSUNAGU_SECRET_KEY_MISSING:
        return [
            Warning(MISSING_SECRET_KEY, hint="The web server and the workers will refuse to start.", id="tsunagu.W001")
        ]
    return []
