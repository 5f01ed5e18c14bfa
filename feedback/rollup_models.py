"""The tables of the feedback figures' rollup (feedback/rollups.py): a row of counts per business day, a row per
ticket time that a median is taken of, and the watermark of the last refresh."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FiguresDay(models.Model):
    """The summable counts of feedback/figures.py for one business day (Asia/Tokyo by default): answers by the day
    they were given, first responses by the ticket's opening day, resolutions by the resolution day, loops closed
    by the day of the answer. A day with none of them has no row."""

    day = models.DateField(_("day"), primary_key=True)
    csat_answers = models.PositiveIntegerField(default=0)
    csat_satisfied = models.PositiveIntegerField(default=0)
    csat_score_sum = models.PositiveIntegerField(default=0)
    nps_answers = models.PositiveIntegerField(default=0)
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_passives = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    unhappy_answers = models.PositiveIntegerField(default=0)
    first_responses_due = models.PositiveIntegerField(default=0)
    first_responses_met = models.PositiveIntegerField(default=0)
    resolutions_due = models.PositiveIntegerField(default=0)
    resolutions_met = models.PositiveIntegerField(default=0)
    loops_closed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        verbose_name = _("feedback figures of a day")
        verbose_name_plural = _("feedback figures by day")

    def __str__(self) -> str:
        return str(self.day)


class FiguresSpan(models.Model):
    """A time the figures take the median of, exact to the microsecond: a ticket's first response (``at`` its
    opening), its resolution (``at`` its resolution) or its closed loop (``at`` the answer). Medians read a range
    of the covering index on (at) with kind and span, not the tickets."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLUTION = "resolution", _("Resolution")
        LOOP = "loop", _("Loop closed")

    ticket = models.ForeignKey("feedback.Ticket", on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    day = models.DateField()
    span = models.DurationField()

    class Meta:
        ordering = ["kind", "at"]
        constraints = [models.UniqueConstraint(fields=["ticket", "kind"], name="figuresspan_ticket_kind_uniq")]
        indexes = [
            models.Index(fields=["at"], include=["kind", "span"], name="figuresspan_at_idx"),
            models.Index(fields=["day"], name="figuresspan_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.ticket_id}"


class FiguresWatermark(models.Model):
    """The single row (pk 1) saying when the rollup was last brought up to date; locked while a run writes."""

    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"feedback figures rollup at {self.refreshed_at}"
