"""gunicorn's own settings, read from the working folder (bin/cluster, the container image): with
DJANGO_LOG_FORMAT=json its own lines (start-up, worker restarts, timeouts) are JSON like the app's."""

import os

# The app logs one line a request (crm/observability/request_log.py); gunicorn's access log would repeat it.
accesslog = None
# gunicorn 27's control socket sits at one path in $HOME, shared by every instance (bin/cluster runs two); unused.
control_socket_disable = True

if os.environ.get("DJANGO_LOG_FORMAT") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "crm.observability.logs.JsonFormatter"}},
        # gunicorn's own defaults name these two handlers; both write JSON to standard error here.
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False}},
    }
