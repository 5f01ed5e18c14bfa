from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, ListView, UpdateView

from customers.models import Customer
from customers.pagination import KeysetListView, count_capped, keyset_page
from customers.reads import customers_viewed_announce
from customers.service_errors import apply_service_errors
from touchpoints.outreach.outbox import line_reachable

from . import services
from .forms import (
    AdjustForm,
    CancelRedemptionForm,
    JoinForm,
    MemberFilterForm,
    ProgrammeForm,
    RedeemForm,
    RewardForm,
    TierForm,
)
from .member.qr import qr_svg_data_uri
from .models import LedgerEntry, Membership, Programme, Redemption, Reward, Tier
from .querysets import LEDGER_ORDERING, MEMBERSHIP_ORDERING
from .services import cards
from .wallet.config import wallet_buttons


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- Members --------------------------------------------------------------------------------------


class MembershipListView(LoginRequiredMixin, PermissionRequiredMixin, KeysetListView):
    permission_required = "loyalty.view_membership"
    template_name = "loyalty/membership_list.html"
    keyset_ordering = MEMBERSHIP_ORDERING
    # The count follows the page (``count_response``), as on the customer list: a name search's count reads every
    # member whose customer matches, up to the cap, which cost several times the page itself.
    counted = False
    link_drop_params = ("after", "before", "count")

    def get(self, request, *args, **kwargs):
        if request.GET.get("count") == "1":
            return self.count_response(request)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        self.filter_form = MemberFilterForm(self.request.GET or None)
        return Membership.objects.filter_by(**self.filter_form.filters())

    def count_response(self, request: HttpRequest) -> HttpResponse:
        """The number of matching members, fetched by the page after it is shown (htmx)."""
        count, capped = count_capped(self.get_queryset())
        return render(request, "loyalty/includes/_member_count.html", {"count": count, "capped": capped})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            filter_form=self.filter_form,
            programmes=Programme.objects.all(),
            tiers=Tier.objects.select_related("programme").order_by("programme__name", "position"),
            is_filtered=self.filter_form.is_filtered(),
        )
        return context


@login_required
@permission_required("loyalty.view_membership", raise_exception=True)
def membership_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.for_list(), pk=pk)
    page = keyset_page(
        LedgerEntry.objects.filter(membership=membership).select_related("redemption__reward", "by"),
        LEDGER_ORDERING,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    redemptions = membership.redemptions.select_related("reward", "by")[:20]
    tier_changes = membership.tier_changes.select_related("from_tier", "to_tier")[:10]
    return render(
        request,
        "loyalty/membership_detail.html",
        {
            "membership": membership,
            "page": page,
            "redemptions": redemptions,
            "tier_changes": tier_changes,
            "cancel_form": CancelRedemptionForm(),
            "statuses": Membership.Status.choices,
        },
    )


@login_required
@permission_required("loyalty.add_membership", raise_exception=True)
def membership_join(request: HttpRequest, pk: int) -> HttpResponse:
    """Enrol a customer in a programme (the programmes they are not in yet), with a referral code if any."""
    customer = get_object_or_404(Customer, pk=pk)
    joined = Membership.objects.filter(customer=customer).values_list("programme_id", flat=True)
    choices = list(Programme.objects.active().exclude(pk__in=joined).values_list("id", "name"))
    form = JoinForm(request.POST or None, programme_choices=choices)
    if request.method == "POST" and form.is_valid():
        programme = get_object_or_404(Programme, pk=form.cleaned_data["programme"])
        try:
            membership = services.membership_join(
                customer=customer,
                programme=programme,
                referral_code=form.cleaned_data["referral_code"],
                by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s joined %(programme)s: member number %(number)s.")
                % {"name": customer.display_name, "programme": programme.name, "number": membership.member_number},
            )
            return redirect(customer)
    return render(request, "loyalty/join.html", {"customer": customer, "form": form, "has_choices": bool(choices)})


@login_required
@permission_required("loyalty.change_membership", raise_exception=True)
@require_POST
def membership_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause, close or reactivate a membership (a paused or closed one earns and redeems nothing)."""
    membership = get_object_or_404(Membership, pk=pk)
    try:
        services.membership_set_status(membership=membership, status=request.POST.get("status", ""), by=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Membership status changed."))
    return redirect(membership)


@login_required
@permission_required("loyalty.add_redemption", raise_exception=True)
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.for_list(), pk=pk)
    form = RedeemForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        try:
            redemption = services.points_redeem(
                membership=membership,
                reward=form.cleaned_data["reward"],
                key=f"staff:{form.cleaned_data['idempotency_key']}",
                by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Redeemed %(reward)s for %(points)s points. Voucher code: %(code)s")
                % {
                    "reward": redemption.reward.name,
                    "points": f"{redemption.points:,}",
                    "code": redemption.voucher_code,
                },
            )
            return redirect(membership)
    return render(request, "loyalty/redeem.html", {"membership": membership, "form": form})


@login_required
@permission_required("loyalty.cancel_redemption", raise_exception=True)
@require_POST
def redemption_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    redemption = get_object_or_404(Redemption, pk=pk)
    form = CancelRedemptionForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.redemption_cancel(redemption=redemption, reason=reason, by=request.user)
    messages.success(request, _("Redemption cancelled; the points are back."))
    return redirect(reverse("loyalty:membership_detail", args=[redemption.membership_id]))


@login_required
@permission_required("loyalty.adjust_points", raise_exception=True)
def adjust(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.for_list(), pk=pk)
    form = AdjustForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.points_adjust(
                membership=membership,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                key=form.cleaned_data["idempotency_key"],
                by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Points adjusted."))
            return redirect(membership)
    return render(request, "loyalty/adjust.html", {"membership": membership, "form": form})


@login_required
@permission_required("loyalty.view_loyalty_figures", raise_exception=True)
def figures(request: HttpRequest) -> HttpResponse:
    return render(request, "loyalty/figures.html", {"figures": services.loyalty_figures()})


# --- Set-up: programmes, tiers, rewards -----------------------------------------------------------


class ProgrammeListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "loyalty.view_programme"
    template_name = "loyalty/programme_list.html"
    context_object_name = "programmes"

    def get_queryset(self):
        return Programme.objects.order_by("name")


class ProgrammeFormMixin:
    model = Programme
    form_class = ProgrammeForm
    template_name = "loyalty/setup_form.html"

    def form_valid(self, form):
        try:
            self.object = services.programme_save(programme=form.instance)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Programme saved."))
        return redirect(self.object)


class ProgrammeCreateView(LoginRequiredMixin, PermissionRequiredMixin, ProgrammeFormMixin, CreateView):
    permission_required = "loyalty.add_programme"


class ProgrammeUpdateView(LoginRequiredMixin, PermissionRequiredMixin, ProgrammeFormMixin, UpdateView):
    permission_required = "loyalty.change_programme"


@login_required
@permission_required("loyalty.view_programme", raise_exception=True)
def programme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    programme = get_object_or_404(Programme, pk=pk)
    return render(
        request,
        "loyalty/programme_detail.html",
        {
            "programme": programme,
            "tiers": programme.tiers.order_by("position"),
            "rewards": programme.rewards.select_related("min_tier"),
        },
    )


class ProgrammeChildMixin:
    """Tiers and rewards are set up under their programme (``/loyalty/programmes/<programme>/…``)."""

    template_name = "loyalty/setup_form.html"

    def dispatch(self, request, *args, **kwargs):
        self.programme = get_object_or_404(Programme, pk=kwargs["programme"])
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.model.objects.filter(programme=self.programme)

    def get_context_data(self, **kwargs):
        return super().get_context_data(programme=self.programme, **kwargs)

    def form_valid(self, form):
        form.instance.programme = self.programme
        try:
            self.object = self.save_with_service(form.instance)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved."))
        return redirect(self.programme)


class TierMixin(ProgrammeChildMixin):
    model = Tier
    form_class = TierForm

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.instance.programme = self.programme
        return form

    def save_with_service(self, tier: Tier) -> Tier:
        return services.tier_save(tier=tier)


class TierCreateView(LoginRequiredMixin, PermissionRequiredMixin, TierMixin, CreateView):
    permission_required = "loyalty.add_tier"


class TierUpdateView(LoginRequiredMixin, PermissionRequiredMixin, TierMixin, UpdateView):
    permission_required = "loyalty.change_tier"


class RewardMixin(ProgrammeChildMixin):
    model = Reward
    form_class = RewardForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "programme": self.programme}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.instance.programme = self.programme
        return form

    def save_with_service(self, reward: Reward) -> Reward:
        return services.reward_save(reward=reward)


class RewardCreateView(LoginRequiredMixin, PermissionRequiredMixin, RewardMixin, CreateView):
    permission_required = "loyalty.add_reward"


class RewardUpdateView(LoginRequiredMixin, PermissionRequiredMixin, RewardMixin, UpdateView):
    permission_required = "loyalty.change_reward"


# --- Member cards ---------------------------------------------------------------------------------


@login_required
@permission_required("loyalty.manage_card", raise_exception=True)
@require_POST
def card_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Mail the member a link that opens their card on their phone (or send it by LINE, ``channel=line``)."""
    membership = get_object_or_404(Membership.objects.select_related("customer", "programme"), pk=pk)
    back = _back(request, membership)
    if not membership.is_active:
        messages.error(request, _("This membership is not active."))
        return redirect(back)
    channel = "line" if request.POST.get("channel") == "line" else "email"
    message = cards.card_link_send(membership=membership, by=request.user, channel=channel)
    if message.status == message.Status.SKIPPED:
        messages.warning(
            request, _("The card link could not be sent: %(why)s.") % {"why": message.get_skip_reason_display()}
        )
    else:
        messages.success(request, _("The card link is on its way to the member."))
    return redirect(back)


def _back(request: HttpRequest, membership: Membership) -> str:
    """Where a card action returns: the page it came from (``next``, on this site), else the membership."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return membership.get_absolute_url()


@login_required
@permission_required("loyalty.manage_card", raise_exception=True)
def card_handover(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff hand the member their card to add to Apple or Google Wallet: a QR code the member scans at the counter
    (a link that opens their card at its wallet buttons and lives a few minutes), or the card link by mail or
    LINE. Only when a wallet is configured."""
    wallet = wallet_buttons()
    if not any(wallet.values()):
        raise Http404
    membership = get_object_or_404(Membership.objects.for_list(), pk=pk)
    back = _back(request, membership)
    if not membership.is_active:
        messages.error(request, _("This membership is not active."))
        return redirect(back)
    link = cards.card_handover_link(cards.card_for(membership))
    customers_viewed_announce(request=request, customer_ids=[membership.customer_id], what="loyalty:card_handover")
    context = {
        "membership": membership,
        "wallet": wallet,
        "link": link,
        "qr": qr_svg_data_uri(link, scale=6),
        "minutes": cards.HANDOVER_MINUTES,
        "line": line_reachable(membership.customer),
        "back": back,
    }
    return render(request, "loyalty/card_handover.html", context)


@login_required
@permission_required("loyalty.manage_card", raise_exception=True)
@require_POST
def card_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    """A lost phone or a leaked QR code: the old card, its links and its sessions stop working."""
    membership = get_object_or_404(Membership, pk=pk)
    cards.card_reissue(membership=membership, by=request.user)
    messages.success(request, _("A new card was issued; the old one no longer works. Send the member a new link."))
    return redirect(membership)
