"""The insights' tables: report permissions, daily rollups (crm/insights/rollups/) and customer scores
(crm/insights/scoring.py).

The figures themselves are defined once, in crm/insights/metrics/; these tables only make them fast to read.
The tables keep the names the crm app gave them (``db_table``): the models moved to this app without a database
change (insights migration 0001).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Report(models.Model):
    """No table: carries the permissions of the dashboard and the reports, which the staff roles are granted."""

    class Meta:
        db_table = "crm_report"
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", _("Can see the dashboard")),
            ("view_customer_figures", _("Can see retention, churn, cohorts, loyalty and journey figures")),
            ("view_service_figures", _("Can see ticket, response time, CSAT and NPS figures")),
            ("view_revenue", _("Can see revenue, order value and lifetime value")),
            ("export_reports", _("Can export reports as CSV")),
        ]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class Segment(models.TextChoices):
    """RFM segments, the usual names (crm/insights/scoring.py maps the R, F and M scores to them)."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL = "potential", _("Potential loyalists")
    NEW = "new", _("New customers")
    PROMISING = "promising", _("Promising")
    NEEDS_ATTENTION = "attention", _("Needs attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


# A segment's badge colour (the contact list's rows and the customer page's score panel): red for those slipping away
# with the most at stake, amber for those going quiet, green for the best; the rest grey.
SEGMENT_BADGE_CLASSES = {
    Segment.CANT_LOSE: "text-bg-danger",
    Segment.AT_RISK: "text-bg-danger",
    Segment.ABOUT_TO_SLEEP: "text-bg-warning",
    Segment.HIBERNATING: "text-bg-warning",
    Segment.LOST: "text-bg-warning",
    Segment.CHAMPIONS: "text-bg-success",
    Segment.LOYAL: "text-bg-success",
}


# The "who to contact this week" list: valuable customers whose recency is slipping (crm/insights/scoring.py). Its
# partial index (score_contact_idx) is built on this exact condition, so filter with this object to use it.
CONTACT_CONDITION = Q(segment__in=["cant_lose", "at_risk", "about_to_sleep"]) | Q(
    segment__in=["champions", "loyal"], r_score__lt=F("previous_r_score")
)


class CustomerScore(models.Model):
    """A customer's RFM scores (1–5, quintiles among customers who purchased), refreshed nightly."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    last_purchase_at = models.DateTimeField(_("last purchase"))
    recency_days = models.PositiveIntegerField(_("days since the last purchase"))
    frequency = models.PositiveIntegerField(_("purchases"))
    monetary = models.DecimalField(_("net spend"), max_digits=16, decimal_places=2)
    r_score = models.PositiveSmallIntegerField(_("recency score"))
    f_score = models.PositiveSmallIntegerField(_("frequency score"))
    m_score = models.PositiveSmallIntegerField(_("monetary score"))
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    previous_r_score = models.PositiveSmallIntegerField(_("previous recency score"), null=True, blank=True)
    previous_segment = models.CharField(_("previous segment"), max_length=20, choices=Segment.choices, blank=True)
    segment_since = models.DateTimeField(_("in this segment since"))
    scored_at = models.DateTimeField(_("scored at"))

    class Meta:
        db_table = "crm_customerscore"
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [
            models.Index(fields=["segment", "-monetary", "customer"], name="score_segment_idx"),
            # "Who to contact this week" (crm/insights/scoring_views.py), biggest spenders first: its rows alone.
            models.Index(
                fields=["-monetary", "-customer"],
                name="score_contact_idx",
                condition=CONTACT_CONDITION,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score} {self.get_segment_display()}"

    @property
    def rfm(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score}"


# --- Daily rollups (crm/insights/rollups/ keeps them; crm/insights/metrics/ reads them) ------------------------------


class DailyRollup(models.Model):
    """One business day's summable counts, recomputed from the raw tables (never edited by hand)."""

    day = models.DateField(_("day"), unique=True)
    new_customers = models.IntegerField(default=0)
    touchpoints = models.IntegerField(default=0)  # activity touchpoints (not the messages Tsunagu sends itself)
    orders = models.IntegerField(default=0)
    sales = models.DecimalField(max_digits=18, decimal_places=2, default=0)  # purchase amounts, JPY
    returns = models.IntegerField(default=0)
    refunds = models.DecimalField(max_digits=18, decimal_places=2, default=0)  # return amounts, JPY
    revenue = models.DecimalField(max_digits=18, decimal_places=2, default=0)  # sales - refunds
    tickets_opened = models.IntegerField(default=0)
    tickets_resolved = models.IntegerField(default=0)
    first_responses_due = models.IntegerField(default=0)
    first_responses_met = models.IntegerField(default=0)
    resolutions_due = models.IntegerField(default=0)
    resolutions_met = models.IntegerField(default=0)
    csat_answers = models.IntegerField(default=0)
    csat_satisfied = models.IntegerField(default=0)
    csat_score_sum = models.IntegerField(default=0)
    nps_answers = models.IntegerField(default=0)
    nps_promoters = models.IntegerField(default=0)
    nps_passives = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    points_earned = models.BigIntegerField(default=0)  # ledger kind "earn"
    points_bonus = models.BigIntegerField(default=0)  # "bonus" and "referral"
    points_redeemed = models.BigIntegerField(default=0)  # "redeem" (negative)
    points_expired = models.BigIntegerField(default=0)  # "expire" (negative)
    points_adjusted = models.BigIntegerField(default=0)  # "adjust" and "reverse"
    members_joined = models.IntegerField(default=0)
    members_closed = models.IntegerField(default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        db_table = "crm_dailyrollup"
        ordering = ["day"]
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")

    def __str__(self) -> str:
        return str(self.day)


class RollupEdge(models.Model):
    """Successive days of the customers' activity, purchases and loyalty entries, aggregated.

    For each customer with days d1 <= d2 <= ... <= dk of a kind, the edges (BEFORE -> d1), (d1 -> d2), ...,
    (dk -> AFTER) are counted here (``n`` customers share the edge); distinct-customer counts over any range of
    days are then sums of edges (crm/insights/metrics/). Kind "lapse" holds (last activity day -> the day the customer
    lapsed, or AFTER while no further activity came). BEFORE and AFTER are sentinel days (crm/insights/rollups/).
    """

    kind = models.CharField(max_length=10)
    from_day = models.DateField()
    to_day = models.DateField()
    from_is_first = models.BooleanField(default=False)
    n = models.IntegerField()

    class Meta:
        db_table = "crm_rollupedge"
        verbose_name = _("rollup edge")
        verbose_name_plural = _("rollup edges")
        constraints = [
            models.UniqueConstraint(fields=["kind", "from_day", "to_day", "from_is_first"], name="rollup_edge_unique"),
        ]
        indexes = [
            # Key columns rather than INCLUDE (which SQLite lacks): index-only scans all the same.
            models.Index(fields=["kind", "to_day", "from_day", "n", "from_is_first"], name="rollup_edge_to_idx"),
            models.Index(fields=["kind", "from_day", "to_day", "n"], name="rollup_edge_from_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_day}->{self.to_day} x{self.n}"


class CohortCell(models.Model):
    """Customers whose first purchase was in ``cohort_month`` and who purchased ``month_offset`` months later."""

    cohort_month = models.DateField()
    month_offset = models.SmallIntegerField()
    customers = models.IntegerField()

    class Meta:
        db_table = "crm_cohortcell"
        verbose_name = _("cohort cell")
        verbose_name_plural = _("cohort cells")
        constraints = [models.UniqueConstraint(fields=["cohort_month", "month_offset"], name="cohort_cell_unique")]

    def __str__(self) -> str:
        return f"{self.cohort_month}+{self.month_offset}: {self.customers}"


class CustomerRollupState(models.Model):
    """What one customer currently contributes to the edges and cohorts (days as ordinals), to diff against.

    No foreign key on purpose: when a customer is deleted or merged away, its state must outlive it until the
    next refresh takes its contributions back out.
    """

    customer_id = models.BigIntegerField(primary_key=True)
    activity_days = models.JSONField(default=list)
    purchase_days = models.JSONField(default=list)  # one entry per purchase
    ledger_days = models.JSONField(default=list)

    class Meta:
        db_table = "crm_customerrollupstate"
        verbose_name = _("customer rollup state")
        verbose_name_plural = _("customer rollup states")

    def __str__(self) -> str:
        return str(self.customer_id)


class CustomerLapse(models.Model):
    """A customer's lapses: each activity day not followed by another within the lapse window (the last one too),
    so the customers behind the churn and retention figures are an index range, not a scan of the touchpoints.
    Kept with the edges (the same per-customer diff); no foreign key, like CustomerRollupState."""

    customer_id = models.BigIntegerField()
    last_day = models.DateField(_("last activity before the lapse"))  # business time zone

    class Meta:
        db_table = "crm_customerlapse"
        verbose_name = _("customer lapse")
        verbose_name_plural = _("customer lapses")
        constraints = [models.UniqueConstraint(fields=["customer_id", "last_day"], name="lapse_unique")]
        indexes = [models.Index(fields=["last_day", "customer_id"], name="lapse_day_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.last_day}"


class RollupDirty(models.Model):
    """A customer or a day the next refresh must recompute (written by crm/insights/receivers.py on merges and
    deletions)."""

    customer_id = models.BigIntegerField(null=True, blank=True)
    day = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "crm_rollupdirty"
        verbose_name = _("rollup to refresh")
        verbose_name_plural = _("rollups to refresh")

    def __str__(self) -> str:
        return f"{self.customer_id or ''} {self.day or ''}"


class RollupWatermark(models.Model):
    """The single row the refresh locks: rows created before ``refreshed_at`` are in the rollups."""

    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    lapse_days = models.PositiveIntegerField(null=True, blank=True)
    tiers = models.JSONField(default=list, blank=True)  # [[tier name, members], …] as of refreshed_at
    open_tickets = models.IntegerField(null=True, blank=True)  # as of refreshed_at

    class Meta:
        db_table = "crm_rollupwatermark"
        verbose_name = _("rollup watermark")
        verbose_name_plural = _("rollup watermarks")

    def __str__(self) -> str:
        return str(self.refreshed_at)


class TicketResponse(models.Model):
    """A ticket's first response time, by its opening day: the medians read a narrow index, not the tickets."""

    ticket_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    seconds = models.FloatField()

    class Meta:
        db_table = "crm_ticketresponse"
        verbose_name = _("ticket response time")
        verbose_name_plural = _("ticket response times")
        indexes = [models.Index(fields=["day", "seconds"], name="ticket_response_day_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.seconds:.0f} s"
