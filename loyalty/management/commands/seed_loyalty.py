"""``manage.py seed_loyalty``: the demo loyalty programme and its members' history (demo data only).

    manage.py seed_loyalty [--seed 42] [--language ja] [--force] [--through-services]

Runs after ``seed_demo``. Creates one programme (three tiers, a few rewards) and, for about 60% of the
customers who bought something, a membership joined at a realistic time; then replays the history in time
order under the rules of real use: each existing purchase touchpoint earns its points when it happened (returns
take them back), tiers rise as members qualify, some members redeem rewards (a few cancel), a few joined on a
friend's referral code, and the fortnightly nights expire lots past their date and review tiers. Every timestamp
is in the past.

By default the replay runs in memory and the rows are written in bulk (``loyalty.seeding``): 100,000 customers in
a couple of minutes. ``--through-services`` replays it through the loyalty services instead, one call per event
(about an hour and a half at 100,000 customers): the reference a test holds the bulk path to.

Same database, same ``--seed``: the same members, ledgers, tiers and redemptions. Member numbers, referral
codes and voucher codes are drawn from ``secrets`` (unguessable by design), so they differ. The ledger audit
runs at the end. Idempotent: does nothing when a programme exists, unless ``--force`` (then it still never
makes the demo programme twice).
"""

from __future__ import annotations

import datetime as dt
import heapq
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Min
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.progress import Progress
from customers.seeding import quiet_logs
from loyalty import demo_data, seeding, services
from loyalty.models import Greeting, LedgerEntry, Membership, Programme, Redemption, Reward, Tier, TierChange
from loyalty.seeding.plan import Event, Totals, _reward_choice, demo_staff, history_plan, rng
from touchpoints.models import Touchpoint, TouchpointType


def programme_create(language: str) -> Programme:
    """The programme, its tiers and rewards, through the services (names in ``language``)."""
    with translation.override(language):
        programme = services.programme_save(
            programme=Programme(
                **{k: v for k, v in demo_data.PROGRAMME.items() if k not in ("name", "description")},
                name=_(demo_data.PROGRAMME["name"]),
                description=_(demo_data.PROGRAMME["description"]),
            )
        )
        tiers = {}
        for name, position, threshold, multiplier, benefits in demo_data.TIERS:
            tiers[position] = services.tier_save(
                tier=Tier(
                    programme=programme,
                    name=_(name),
                    position=position,
                    threshold=threshold,
                    multiplier=multiplier,
                    benefits=_(benefits),
                )
            )
        for position, (name, kind, cost, stock, min_tier, description) in enumerate(demo_data.REWARDS, start=1):
            services.reward_save(
                reward=Reward(
                    programme=programme,
                    name=_(name),
                    kind=kind,
                    points_cost=cost,
                    stock=stock,
                    min_tier=tiers.get(min_tier),
                    description=_(description),
                    position=position * 10,
                )
            )
    return programme


def seed_loyalty(
    *, programme: Programme, seed: int, now: dt.datetime, write: Callable[[str], object] | None = None
) -> Totals:
    """Replay the members' history up to ``now`` through the services, one call per event (the reference the
    set-based ``loyalty.seeding.replay`` is held to; ``--through-services``). The caller holds a transaction.
    ``write``: where a progress line goes at each tenth of the history replayed."""
    totals = Totals()
    queue, _purchases, join_r = history_plan(seed, now)
    redeem_r = rng(seed, "redeem")
    if not queue:
        return totals
    seq = iter(range(len(queue) + 1, 10**9))
    touchpoints = Touchpoint.objects.select_related("type").in_bulk(
        [e.payload.pk for e in queue if e.kind not in ("join", "night")]
    )

    def push(at: dt.datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(queue, Event(at, next(seq), kind, payload))

    staff = demo_staff()
    rewards = list(Reward.objects.filter(programme=programme).select_related("min_tier").order_by("points_cost", "pk"))
    memberships: dict[int, Membership] = {}
    joined: list[Membership] = []
    redemption_count = 0
    progress = Progress(write, total=len(queue), label="Loyalty history", unit="events")
    while queue:
        event = heapq.heappop(queue)
        if event.kind != "cancel":  # cancellations are drawn on the way: not in the total
            progress.step()
        if event.kind == "join":
            referral = ""
            if joined and join_r.random() < demo_data.REFERRED_SHARE:
                referral = join_r.choice(joined).referral_code
            membership = services.membership_join(
                customer=Customer(pk=event.payload),
                programme=programme,
                referral_code=referral,
                joined_at=event.at,
            )
            memberships[event.payload] = membership
            joined.append(membership)
            totals.members += 1
            totals.referred += bool(referral)
        elif event.kind == "night":
            day = timezone.localdate(event.at)
            totals.expired_points += services.points_expire(today=day, at=event.at)
            services.tiers_review(today=day, now=event.at)
        elif event.kind == "cancel":
            services.redemption_cancel(
                redemption=event.payload, reason=_(redeem_r.choice(demo_data.CANCEL_REASONS)), at=event.at
            )
            totals.cancelled += 1
        elif event.kind == TouchpointType.Kind.RETURN:
            touchpoint = touchpoints[event.payload.pk]
            totals.returns += len(services.points_reverse_for_return(touchpoint=touchpoint, at=event.at))
        else:  # a purchase: its points, then perhaps a reward at the counter or on the site
            touchpoint = touchpoints[event.payload.pk]
            totals.earned += len(services.points_earn_for_purchase(touchpoint=touchpoint, at=event.at))
            if redeem_r.random() >= demo_data.REDEEM_CHANCE:
                continue
            membership = Membership.objects.select_related("tier").get(pk=memberships[event.payload.customer_id].pk)
            at = event.at + dt.timedelta(minutes=redeem_r.randint(2, 30))
            choice = _reward_choice(redeem_r, rewards, membership)
            if choice is None or at >= now:
                continue
            redemption_count += 1
            api = redeem_r.random() < demo_data.API_SHARE
            try:
                redemption = services.points_redeem(
                    membership=membership,
                    reward=choice,
                    key=f"demo:p{programme.pk}:{seed}:{membership.customer_id}:{redemption_count}",
                    by=None if api or not staff else redeem_r.choice(staff),
                    source=Redemption.Source.API if api else Redemption.Source.STAFF,
                    at=at,
                )
            except services.OutOfStock:
                totals.skipped += 1
                continue
            totals.redemptions += 1
            if choice.stock is not None:
                choice.stock -= 1
            cancel_at = at + dt.timedelta(days=1, hours=redeem_r.randint(0, 6))
            if redeem_r.random() < demo_data.CANCEL_SHARE and cancel_at < now:
                push(cancel_at, "cancel", redemption)
    # Last night's run (the nightly jobs would have done it before the demo starts).
    today = timezone.localdate(now)
    totals.expired_points += services.points_expire(today=today, at=now)
    services.tiers_review(today=today, now=now)
    _greetings_settle(programme=programme, today=today, now=now)
    return totals


def _greetings_settle(*, programme: Programme, today: dt.date, now: dt.datetime) -> int:
    """Greetings the history scheduled (tier upgrades) for days before today: the dispatcher must not mail
    them all when the demo starts. Documented UPDATE, demo data only: they are marked "not sent", dated on
    their day (``Greeting.created_at`` defaults to now and no service takes a time for it)."""
    tz = timezone.get_default_timezone()
    settled = 0
    rows = Greeting.objects.filter(
        membership__programme=programme, status=Greeting.Status.SCHEDULED, due_on__lt=today
    ).values_list("pk", "due_on")
    for pk, due_on in rows:
        at = min(timezone.make_aware(dt.datetime.combine(due_on, dt.time(10)), tz), now)
        settled += Greeting.objects.filter(pk=pk).update(
            status=Greeting.Status.NOT_SENT, error="demo data: history, not sent", created_at=at, processed_at=at
        )
    return settled


class Command(BaseCommand):
    help = "Create the demo loyalty programme and replay its members' history (after seed_demo; demo data only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same history.")
        parser.add_argument(
            "--language", default="ja", help="Language of the programme's, tiers' and rewards' names (default ja)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Seed even when other programmes exist (never the demo one twice)."
        )
        parser.add_argument(
            "--through-services",
            action="store_true",
            help="Replay every event through the loyalty services (the slow reference) instead of in bulk.",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        with translation.override(options["language"]):
            name = _(demo_data.PROGRAMME["name"])
        if Programme.objects.filter(name__iexact=name).exists() or (
            Programme.objects.exists() and not options["force"]
        ):
            self.stdout.write("A loyalty programme exists already: no loyalty demo data added (--force to add it).")
            return
        tz = timezone.get_default_timezone()
        # The history ends where seed_demo's does: the start of today in the business time zone.
        now = timezone.make_aware(dt.datetime.combine(timezone.localdate(timezone=tz), dt.time.min), tz)
        with quiet_logs(options["verbosity"]), transaction.atomic():
            programme = programme_create(options["language"])
            with translation.override(options["language"]):
                write = self.stdout.write if options["verbosity"] >= 1 else None
                if options["through_services"]:
                    totals = seed_loyalty(programme=programme, seed=options["seed"], now=now, write=write)
                else:
                    state, totals = seeding.replay(programme=programme, seed=options["seed"], now=now, write=write)
                    seeding.history_write(state, now=now, write=write)
        problems = services.ledger_audit()
        entries = LedgerEntry.objects.filter(membership__programme=programme).count()
        changes = TierChange.objects.filter(membership__programme=programme).count()
        first = Membership.objects.filter(programme=programme).aggregate(m=Min("joined_at"))["m"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Loyalty: {programme.name} with {totals.members} members ({totals.referred} referred) since "
                f"{first:%Y-%m-%d}, {entries} ledger entries, {totals.redemptions} redemptions "
                f"({totals.cancelled} cancelled), {totals.expired_points} points expired, {changes} tier changes "
                f"in {time.monotonic() - started:.1f}s."
                if first
                else f"Loyalty: {programme.name} created; no customer has bought anything yet, so no members."
            )
        )
        if problems:
            for problem in problems:
                self.stderr.write(problem.describe())
