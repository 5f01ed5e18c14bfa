import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

from crm.checks import require_secret_key  # noqa: E402 - after setup, so the settings are loaded

require_secret_key()
