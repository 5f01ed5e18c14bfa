"""The member's pages (``/m/``), outside the staff login: the card, redeeming from it, and signing in to it
with a mailed link or a one-time code. Nothing here is indexed or cached (noindex, no-store); a card page
shows only the data of the card in the session, in the member's language."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from customers import throttling
from touchpoints.outreach.line import login as line_login
from touchpoints.outreach.line.client import provider as line_provider
from touchpoints.outreach.models import LineUser
from touchpoints.outreach.preferences import preferences_url

from .. import services
from ..models import MemberCard, Redemption, Reward
from ..services import cards
from ..wallet.config import wallet_buttons
from .forms import CardRedeemForm, CodeForm, EmailForm
from .qr import qr_data_uri
from .session import card_from_session, card_session_close, card_session_open
from .summary import card_summary, history_page

CODE_SCOPE = "card-code"


def member_page(view: Callable) -> Callable:
    """Never cached, never indexed."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return never_cache(wrapped)


def card_required(view: Callable) -> Callable:
    """The card in the session, in its member's language; without one, the sign-in page."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        card = card_from_session(request, with_membership=True)
        if card is None:
            return redirect("member:start")
        membership = card.membership
        with translation.override(membership.customer.preferred_language or settings.LANGUAGE_CODE):
            return view(request, card, membership, *args, **kwargs)

    return member_page(wrapped)


# --- Signing in -----------------------------------------------------------------------------------


@member_page
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """Ask for a one-time code by email. The answer is the same whether or not the address is a member's."""
    if card_from_session(request) is not None and request.method == "GET":
        return redirect("member:card")
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        rate = settings.TSUNAGU_CARD_CODE_RATE_LIMIT
        wait = max(
            throttling.retry_after(scope=CODE_SCOPE, ident=throttling.client_ip(request), rate=rate),
            throttling.retry_after(scope=CODE_SCOPE + ":email", ident=email, rate=rate),
        )
        if wait:
            minutes = max(1, (wait + 59) // 60)
            form.add_error(None, _("Too many codes asked for. Please try again in %(n)d minutes.") % {"n": minutes})
        else:
            throttling.hit(scope=CODE_SCOPE, ident=throttling.client_ip(request), rate=rate)
            throttling.hit(scope=CODE_SCOPE + ":email", ident=email, rate=rate)
            cards.card_code_send(email=email)
            request.session["member_card_email"] = email
            return redirect("member:code")
    return render(request, "loyalty/member/start.html", {"form": form})


@member_page
@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    email = request.session.get("member_card_email")
    if not email:
        return redirect("member:start")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = cards.card_code_check(email=email, code=form.cleaned_data["code"])
        except cards.CardLinkError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop("member_card_email", None)
            card_session_open(request, card)
            return redirect("member:card")
    return render(request, "loyalty/member/code.html", {"form": form})


@member_page
def open_link(request: HttpRequest, token: str, *, handover: bool = False) -> HttpResponse:
    """A mailed link: exchanged for a card session, then off to the card (the token leaves the address bar)."""
    try:
        card = cards.card_from_link(token, handover=handover)
    except cards.CardLinkError as exc:
        return render(
            request, "loyalty/member/start.html", {"form": EmailForm(), "link_error": exc.message}, status=400
        )
    card_session_open(request, card)
    if handover:  # staff showed it at the counter to add the card to a wallet: straight to the buttons
        return redirect(reverse("member:card") + "#card-wallet")
    return redirect("member:card")


def open_handover(request: HttpRequest, token: str) -> HttpResponse:
    """The QR code staff show at the till or on the customer page: a short-lived link to the card's wallet buttons."""
    return open_link(request, token, handover=True)


@member_page
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    card_session_close(request)
    return redirect("member:start")


# --- The card -------------------------------------------------------------------------------------


def _card_context(request: HttpRequest, card: MemberCard, membership) -> dict:
    token = cards.card_token(card)
    return {
        "card": card,
        "membership": membership,
        "summary": card_summary(membership),
        "qr": qr_data_uri(token),
        "token": token,
        "redeem_key": uuid.uuid4().hex,
        "referral_url": settings.TSUNAGU_BASE_URL + reverse("member:referral", args=[membership.referral_code]),
        "preferences_url": preferences_url(membership.customer_id, came_from="card"),
        "line_login": line_login.login_configured(),
        "line_linked": line_login.login_configured()
        and LineUser.objects.filter(customer_id=membership.customer_id, provider=line_provider()).exists(),
        "wallet": wallet_buttons(),
    }


@card_required
def card_page(request: HttpRequest, card: MemberCard, membership) -> HttpResponse:
    response = render(request, "loyalty/member/card.html", _card_context(request, card, membership))
    if line_login.login_configured():  # "Link LINE" posts here, then goes on to LINE's authorize page
        response._csp_update = {"form-action": [settings.LINE_ACCESS_HOST]}
    return response


@card_required
@require_POST
def line_link(request: HttpRequest, card: MemberCard, membership) -> HttpResponse:
    """Link LINE by LINE Login: the card's customer proved who they are by holding the card session."""
    if not line_login.login_configured():
        raise Http404
    return redirect(line_login.login_start(request, customer=membership.customer, next_url=reverse("member:card")))


@card_required
def history(request: HttpRequest, card: MemberCard, membership) -> HttpResponse:
    """Older history, 20 entries a page ("Earlier history" on the card; works without JavaScript)."""
    before = request.GET.get("before", "")
    if not before.isdigit():
        return redirect("member:card")
    entries, more = history_page(membership, before=int(before))
    return render(request, "loyalty/member/history.html", {"membership": membership, "history": entries, "more": more})


@card_required
@require_POST
def redeem(request: HttpRequest, card: MemberCard, membership) -> HttpResponse:
    """Spend points on a reward: the staff redemption's service, with the page's key (a double tap spends once;
    balance and stock are locked and never overspent)."""
    form = CardRedeemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Reload the page and try again."))
        return redirect("member:card")
    reward = Reward.objects.filter(pk=form.cleaned_data["reward"], programme_id=membership.programme_id).first()
    if reward is None:
        messages.error(request, _("This reward is not offered any more."))
        return redirect("member:card")
    try:
        redemption = services.points_redeem(
            membership=membership,
            reward=reward,
            key=f"card:{membership.pk}:{form.cleaned_data['key']}",
            source=Redemption.Source.CARD,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("member:card")
    return redirect("member:voucher", pk=redemption.pk)


@card_required
def voucher(request: HttpRequest, card: MemberCard, membership, pk: int) -> HttpResponse:
    redemption = (
        Redemption.objects.filter(pk=pk, membership_id=membership.pk).select_related("reward").first()
    )  # only the card's own vouchers
    if redemption is None:
        raise Http404
    return render(
        request,
        "loyalty/member/voucher.html",
        {"membership": membership, "redemption": redemption, "qr": qr_data_uri(redemption.voucher_code)},
    )


# --- Home screen and referrals ----------------------------------------------------------------------


@member_page
def manifest(request: HttpRequest) -> HttpResponse:
    data = {
        "name": _("%(shop)s member card") % {"shop": settings.TSUNAGU_SHOP_NAME},
        "short_name": _("Member card"),
        "start_url": reverse("member:card"),
        "scope": reverse("member:start"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f3b57",
        "icons": [{"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


@member_page
def referral(request: HttpRequest, code: str) -> HttpResponse:
    """A friend's shared link: the referral code to give when joining (at the counter or by staff)."""
    code = "".join(ch for ch in code.upper() if ch.isalnum())[:12]
    return render(request, "loyalty/member/referral.html", {"code": code})
