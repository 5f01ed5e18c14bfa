"""Error reporting to Sentry (or a compatible service such as GlitchTip), only when ``SENTRY_DSN`` is set."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

OFF = {"mode": "off"}
PRIVATE = {
    "user_info": False,
    "cookies": OFF,
    "http_bodies": [],
    "url_query_params": OFF,
    "database_query_data": False,
    "stack_frame_variables": False,
}


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Customers' names, emails and phone numbers stay here: no user details, cookies, request bodies, query
        # strings (searches), SQL parameters or local variables.
        data_collection=PRIVATE,
        traces_sample_rate=traces_sample_rate,
    )
