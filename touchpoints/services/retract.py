"""Taking back a touchpoint recorded by mistake (an undone call): the row and what recording it did.

Recording moved the customer's last activity forward (put back while nothing later happened), may have moved their
stage (then it is not retracted here: a stage change is undone by hand, with a reason, on the customer page) and
announced the touchpoint (``events.touchpoint_retracted`` lets the apps above take back what they scheduled).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import customer_touch_rewind
from customers.signals import send_logged
from touchpoints import events
from touchpoints.models import StageTransition, Touchpoint

logger = logging.getLogger(__name__)


@transaction.atomic
def touchpoint_retract(
    *, touchpoint: Touchpoint, by: AbstractBaseUser | None, activity_before: dt.datetime | None = None
) -> None:
    """Delete ``touchpoint``; with ``activity_before`` (the customer's last activity before it was recorded), put
    that back if the touchpoint is still the customer's latest activity. Refused if it moved the customer's stage."""
    Customer.objects.select_for_update(no_key=True).filter(pk=touchpoint.customer_id).values_list("pk").get()
    if StageTransition.objects.filter(touchpoint=touchpoint).exists():
        raise ValidationError(
            _("This entry moved the customer to another stage: move them back on their page, with a reason, instead.")
        )
    touchpoint_id, customer_id = touchpoint.pk, touchpoint.customer_id
    deleted, _rows = Touchpoint.objects.filter(pk=touchpoint_id).delete()
    if not deleted:
        return
    if activity_before is not None:
        customer_touch_rewind(customer_id=customer_id, at=touchpoint.occurred_at, to=activity_before)
    transaction.on_commit(
        lambda: send_logged(
            events.touchpoint_retracted, sender=Touchpoint, touchpoint_id=touchpoint_id, customer_id=customer_id
        )
    )
    logger.info("touchpoint retracted id=%s customer=%s by=%s", touchpoint_id, customer_id, getattr(by, "pk", None))
