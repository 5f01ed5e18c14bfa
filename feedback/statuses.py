"""Ticket statuses and priorities, apart from the models so that querysets can use them too."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

# The deadline of a ticket whose SLA clock is not running (waiting on the customer, resolved, closed).
# Far enough to sort after every real deadline, near enough to stay a valid date in every time zone.
NO_DEADLINE = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses of a ticket someone still has to work on; of those, the ones whose SLA clock runs.
ACTIVE_STATUSES = [Status.NEW, Status.OPEN, Status.WAITING]
CLOCK_STATUSES = [Status.NEW, Status.OPEN]
