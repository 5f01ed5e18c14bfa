"""Till mode: the counter's tablet. Scan a member card's QR code (a USB scanner types it into the big field, or
the tablet's camera reads it) or type the member number; one screen then shows the card, the tier and the
balance, and records a purchase, redeems a reward or takes in a voucher in two taps each. Every action goes
through the services the rest of the app uses; each view of a member's screen is in the audit trail."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from customers.reads import customers_viewed_announce
from customers.service_errors import apply_service_errors

from . import services
from .member.summary import card_summary, membership_for_card
from .models import Membership, Redemption, Reward
from .services import cards
from .till_forms import TillLookupForm, TillPurchaseForm, TillRedeemForm, VoucherForm
from .wallet.config import wallet_buttons

PERMISSION = "loyalty.use_till"


def _find(q: str) -> tuple[int | None, str]:
    """The id of the member a scanned token or a typed member number names, or why there is none."""
    if cards.looks_like_token(q):
        card = cards.card_find(q, with_membership=False)
        if card is None:
            return None, _("This card is not known here.")
        if not card.is_active:
            return None, _("This card was replaced by a new one: ask the member to open their new card.")
        return card.membership_id, ""
    number = "".join(ch for ch in q if ch.isdigit())
    membership_id = (
        Membership.objects.filter(member_number=number).values_list("pk", flat=True).first() if number else None
    )
    if membership_id is None:
        return None, _("No member has this number.")
    return membership_id, ""


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def till(request: HttpRequest) -> HttpResponse:
    """The lookup. A POST, so the token a scanner typed never lands in an address or a server log."""
    form = TillLookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        membership_id, error = _find(form.cleaned_data["q"])
        if membership_id is not None:
            return redirect("loyalty:till_member", pk=membership_id)
        form = TillLookupForm()
        form.lookup_error = error
    return render(request, "loyalty/till/lookup.html", {"form": form})


@login_required
@permission_required(PERMISSION, raise_exception=True)
def till_member(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        membership = membership_for_card(pk)
    except Membership.DoesNotExist:
        raise Http404 from None
    customers_viewed_announce(request=request, customer_ids=[membership.customer_id], what="loyalty:till_member")
    return render(request, "loyalty/till/member.html", _member_context(membership))


def _member_context(membership: Membership, **forms) -> dict:
    key = uuid.uuid4().hex
    return {
        "membership": membership,
        "summary": card_summary(membership, history=5),
        "purchase_form": forms.get("purchase_form") or TillPurchaseForm(initial={"key": key}),
        "voucher_form": forms.get("voucher_form") or VoucherForm(),
        "redeem_key": key,
        "wallet_handover": any(wallet_buttons().values()),
        "open_vouchers": list(
            Redemption.objects.filter(
                membership_id=membership.pk, status=Redemption.Status.ISSUED, used_at__isnull=True
            ).select_related("reward")[:5]
        ),
    }


def _member(pk: int) -> Membership:
    return get_object_or_404(Membership.objects.for_list(), pk=pk)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def till_purchase(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member(pk)
    form = TillPurchaseForm(request.POST)
    if form.is_valid():
        try:
            touchpoint = services.till_purchase_record(
                membership=membership,
                amount=form.cleaned_data["amount"],
                order_reference=form.cleaned_data["order_reference"],
                key=form.cleaned_data["key"],
                by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            # The points are earned after commit (loyalty's receiver of the purchase): the screen shows them.
            messages.success(
                request,
                _("Purchase of %(amount)s JPY recorded.") % {"amount": f"{touchpoint.amount:,.0f}"},
            )
            return redirect("loyalty:till_member", pk=membership.pk)
    return render(
        request, "loyalty/till/member.html", _member_context(membership_for_card(pk), purchase_form=form), status=400
    )


@login_required
@permission_required(PERMISSION, raise_exception=True)
@permission_required("loyalty.add_redemption", raise_exception=True)
@require_POST
def till_redeem(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member(pk)
    form = TillRedeemForm(request.POST)
    reward = None
    if form.is_valid():
        reward = Reward.objects.filter(pk=form.cleaned_data["reward"], programme_id=membership.programme_id).first()
    if reward is None:
        messages.error(request, _("Choose a reward, then press Redeem."))
        return redirect("loyalty:till_member", pk=membership.pk)
    try:
        redemption = services.points_redeem(
            membership=membership, reward=reward, key=f"till:{form.cleaned_data['key']}", by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Redeemed %(reward)s for %(points)s points. Voucher code: %(code)s")
            % {"reward": reward.name, "points": f"{redemption.points:,}", "code": redemption.voucher_code},
        )
    return redirect("loyalty:till_member", pk=membership.pk)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_POST
def till_voucher(request: HttpRequest, pk: int) -> HttpResponse:
    """Take in a voucher the member shows (from their card, or redeemed earlier): used once."""
    membership = _member(pk)
    form = VoucherForm(request.POST)
    if form.is_valid():
        try:
            redemption = services.voucher_use(code=form.cleaned_data["code"], by=request.user, membership=membership)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Voucher accepted: %(reward)s.") % {"reward": redemption.reward.name})
            return redirect("loyalty:till_member", pk=membership.pk)
    return render(
        request, "loyalty/till/member.html", _member_context(membership_for_card(pk), voucher_form=form), status=400
    )
