"""Recomputing the rollups from every transition (after a bulk load, a customer deletion or a source edit)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction

from customers.models import Customer
from touchpoints.funnel.grains import DELTA_GRAINS, GRAINS, Contributions, contributions, transitions_of
from touchpoints.funnel.sql import rank_sql, rollup_inserts
from touchpoints.funnel.tracking import append_difference, funnel_fold
from touchpoints.models import FunnelJournal, FunnelReach, FunnelStay, StageTransition

logger = logging.getLogger(__name__)


@transaction.atomic
def funnel_rebuild() -> dict[str, int]:
    """Recompute the rollups from every stage transition. Writers of transitions wait until it commits (the
    rollups are locked against new deltas); readers keep reading the old figures meanwhile."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {FunnelReach._meta.db_table}, {FunnelStay._meta.db_table},"
                f" {FunnelJournal._meta.db_table} IN SHARE ROW EXCLUSIVE MODE"
            )
        FunnelJournal.objects.all().delete()  # the rebuild counts every transition there is
        FunnelReach.objects.all().delete()
        FunnelStay.objects.all().delete()
        _rebuild_postgresql()
    else:
        FunnelReach.objects.all().delete()
        FunnelStay.objects.all().delete()
        customer_ids = StageTransition.objects.order_by().values_list("customer_id", flat=True).distinct()
        ids = sorted(customer_ids)
        for start in range(0, len(ids), 2000):
            append_difference(Contributions(), contributions(transitions_of(ids[start : start + 2000]), DELTA_GRAINS))
        funnel_fold()
    counts = {"reach_rows": FunnelReach.objects.count(), "stay_rows": FunnelStay.objects.count()}
    logger.info("funnel rebuilt reach_rows=%d stay_rows=%d", counts["reach_rows"], counts["stay_rows"])
    return counts


def _rebuild_postgresql() -> None:
    """The rollups from every transition, in one statement."""
    transitions = f"""
        SELECT 1 AS sign, st.id, st.customer_id, c.source, st.channel, st.at, st.ended_at,
               {rank_sql("st.from_stage")} AS lo, {rank_sql("st.to_stage")} AS hi,
               (st.at AT TIME ZONE %(tz)s)::date AS d
          FROM {StageTransition._meta.db_table} st JOIN {Customer._meta.db_table} c ON c.id = st.customer_id
    """  # noqa: S608 - our own names only
    sql = f"WITH t AS MATERIALIZED ({transitions}), {rollup_inserts(GRAINS, pending=False)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tz": settings.TIME_ZONE})
