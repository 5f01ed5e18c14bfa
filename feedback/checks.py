"""System checks of the feedback settings: a wrong holiday country would stop every ticket from opening."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from .holidays import country_holidays


@register()
def holiday_country_check(app_configs, **kwargs) -> list[Error]:
    try:
        country_holidays(settings.TSUNAGU_HOLIDAY_COUNTRY)
    except NotImplementedError:
        return [
            Error(
                f"TSUNAGU_HOLIDAY_COUNTRY={settings.TSUNAGU_HOLIDAY_COUNTRY!r} is not a country (or subdivision) "
                "the holidays package knows.",
                hint="Use an ISO 3166 code such as JP, or one with a subdivision such as US-CA; empty for none.",
                id="feedback.E001",
            )
        ]
    return []
