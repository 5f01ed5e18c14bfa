from dataclasses import asdict

from celery import shared_task

from . import metrics, rollups, scoring


@shared_task(time_limit=30 * 60, soft_time_limit=25 * 60)
def scores_refresh_task() -> dict[str, object]:
    """Nightly: RFM scores of every buying customer (crm/insights/scoring.py). Safe to run twice: a second run the
    same day rewrites only the rows whose touchpoints changed, and an advisory lock keeps two runs from overlapping."""
    return asdict(scoring.scores_refresh())


@shared_task(time_limit=30 * 60, soft_time_limit=25 * 60)
def rollups_refresh_task() -> dict[str, object]:
    """Every TSUNAGU_ROLLUP_SECONDS: bring the insights rollups up to date (crm/insights/rollups/). Safe to run twice:
    the watermark row is locked for the run, so a second run waits and then finds little or nothing to do."""
    result = asdict(rollups.refresh())
    metrics.warm_dashboards()  # the preset periods of the new rollups, so the morning's first visit is quick
    return result


@shared_task(time_limit=60 * 60, soft_time_limit=55 * 60)
def rollups_rebuild_task() -> dict[str, object]:
    """Nightly: recompute every rollup from the raw tables, the safety net for what an incremental refresh cannot
    see (a transaction that committed more than the refresh's safety margin after it wrote, a row deleted outside
    the services). The dashboard reads the old rows until the rebuild commits; the watermark lock keeps refreshes
    out meanwhile."""
    result = asdict(rollups.rebuild())
    metrics.warm_dashboards()
    return result
