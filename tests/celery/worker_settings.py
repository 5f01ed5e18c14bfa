"""Settings of the Celery worker and beat processes started by tests/celery and the outreach benchmark:
the test settings, with mail through the SMTP backend (to the test's local SMTP sink) instead of locmem."""

import os

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
