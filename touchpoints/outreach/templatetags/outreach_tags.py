"""``{{ message.status|status_badge_class }}``: an outbox message's badge colour, as the outbox list's rows write it."""

from __future__ import annotations

from django import template

from ..outbox_rows import status_badge_class

register = template.Library()
register.filter("status_badge_class", status_badge_class)
