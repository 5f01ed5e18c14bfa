"""The insights' tables: report permissions, daily rollups (crm/rollups.py) and customer scores (crm/scoring.py).

The figures themselves are defined once, in crm/metrics.py; these tables only make them fast to read.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Report(models.Model):
    """No table: carries the permissions of the dashboard and the reports, which the staff roles are granted."""

    class Meta:
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
    """RFM segments, the usual names (crm/scoring.py maps the R, F and M scores to them)."""

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
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [
            models.Index(fields=["segment", "-monetary", "customer"], name="score_segment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score} {self.get_segment_display()}"

    @property
    def rfm(self) -> str:
        return f"{self.r_score}{self.f_score}{self.m_score}"
