"""The counter's writes: a purchase recorded at the till (a purchase touchpoint; loyalty earns on it after commit,
as for any purchase), and a voucher taken in (used once: a conditional UPDATE)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from touchpoints.models import Touchpoint, TouchpointType
from touchpoints.services import touchpoint_record

from ..models import Membership, Redemption

logger = logging.getLogger(__name__)

TILL_PURCHASE_TYPE = "transaction"  # the catalogue's purchase type; any active purchase type will do
AMOUNT_MAX = Decimal("100000000")


def _purchase_type() -> TouchpointType:
    types = list(TouchpointType.objects.filter(kind=TouchpointType.Kind.PURCHASE, is_active=True))
    for touchpoint_type in types:
        if touchpoint_type.slug == TILL_PURCHASE_TYPE:
            return touchpoint_type
    if not types:
        raise ValidationError(_("No purchase touchpoint type is active: ask a manager to switch one on."))
    return types[0]


def till_purchase_record(
    *,
    membership: Membership,
    amount: Decimal,
    order_reference: str,
    key: str,
    by: AbstractBaseUser | None,
) -> Touchpoint:
    """A purchase at the counter: one purchase touchpoint (store channel) for the member; the points are earned by
    loyalty's receiver after commit, like any purchase. The same ``key`` again records nothing more."""
    if not membership.is_active:
        raise ValidationError(_("This membership is not active."))
    if amount is None or amount <= 0 or amount >= AMOUNT_MAX:
        raise ValidationError({"amount": _("Enter the amount of the purchase.")})
    touchpoint = touchpoint_record(
        customer=membership.customer,
        touchpoint_type=_purchase_type(),
        channel="store",
        direction="inbound",
        summary=_("Purchase at the till"),
        amount=amount,
        currency=membership.programme.currency,
        order_reference=(order_reference or "").strip()[:100],
        idempotency_key=f"till:{key}"[:200],
        by=by,
        source=Touchpoint.Source.STAFF,
    )
    logger.info("till purchase recorded membership=%s touchpoint=%s", membership.pk, touchpoint.pk)
    return touchpoint


def normalise_voucher(code: str) -> str:
    raw = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else (code or "").strip().upper()[:20]


@transaction.atomic
def voucher_use(
    *, code: str, by: AbstractBaseUser | None, membership: Membership | None = None, at: dt.datetime | None = None
) -> Redemption:
    """Take in a voucher at the counter: used once (a conditional UPDATE, so two tills at once use it once).
    ``membership``: the member at the till; a voucher of another member is refused."""
    code = normalise_voucher(code)
    redemption = Redemption.objects.select_related("reward", "membership").filter(voucher_code=code).first()
    if redemption is None or (membership is not None and redemption.membership_id != membership.pk):
        raise ValidationError({"code": _("No voucher of this member has this code.")})
    if redemption.status == Redemption.Status.CANCELLED:
        raise ValidationError({"code": _("This voucher was cancelled.")})
    at = at or timezone.now()
    claimed = Redemption.objects.filter(pk=redemption.pk, status=Redemption.Status.ISSUED, used_at__isnull=True).update(
        used_at=at, used_by=by
    )
    if not claimed:
        redemption.refresh_from_db(fields=["used_at"])
        raise ValidationError(
            {
                "code": _("This voucher was already used on %(at)s.")
                % {"at": date_format(timezone.localtime(redemption.used_at), "DATETIME_FORMAT")}
            }
        )
    redemption.used_at, redemption.used_by = at, by
    logger.info("voucher used redemption=%s by=%s", redemption.pk, getattr(by, "pk", None))
    return redemption
