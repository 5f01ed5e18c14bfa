"""The journey funnel for a date range, read from rollups kept in step with the stage transitions.

Definitions (a customer's stages only go forward automatically, and may skip: a first purchase takes a
newcomer straight to decision, "passing" awareness and consideration on the way). Days are days of the
business time zone.

- A transition **crosses** stage S when ``rank(from_stage) < rank(S) <= rank(to_stage)``.
- **reached** S in the period: the customer's *first* crossing of S ever falls in the period. Without
  manual moves a customer crosses each stage once, so this is "crossed S in the period"; a customer moved
  back by hand and crossing S again is not counted twice (the funnel counts arrivals, not returns).
- **conversion** S → next: of the customers who reached S in the period, the share whose first crossing
  of the next stage is also in the period (at or after the first crossing of S), so it never exceeds 100 %.
- **median days in stage** S: over the stays in S (transitions into S, by any move) that began in the
  period and have ended. Durations are grouped in buckets of one hour below a day and 3 % wide above
  (each bucket stands for the mean of its stays), so the median is exact to the hour below a day and
  within 3 % above (in practice much closer), shown to 0.1 day.
- split **by acquisition source** (the customer's ``source``) and **by channel** (the channel of the
  transition that made the crossing, or began the stay; manual moves have none). A customer counts in one
  group of each split per stage, so the groups add up to the overall figures; conversion within a group is
  the share of those who reached S *through that group* who went on to the next stage (by any channel).

The rollups (``FunnelReach``, ``FunnelStay``) hold these counts per day, per ten days (1st–10th, 11th–20th,
21st–end), per month and per quarter, so a year is read as three quarters, a few months and ten-day spans
and at most 20 days, never 365 days. Each first crossing of S is stored with the day of the first crossing
of S + 1 (exact, and as its month): "converted by the end of the period" is a next-stage month before the
period's last month, or an exact day in that month up to the end. Two queries, whatever the period (each a
UNION ALL of index range scans, one per grain): reached and converted; and the median buckets, summed in the
database and picked in Python.

Keeping them in step: every write of transitions goes through ``touchpoints.services``, which calls
``FunnelTracker``: the customers' contributions before the write and after it, and an INSERT of the difference
as ``pending`` rows (nothing is updated on the hot path, so concurrent writers never wait on a popular day's
row). On PostgreSQL a batch notes the transitions it added and ended in ``FunnelJournal`` and ``journal_fold``
works the difference out in one statement (the history before the write is the history after it without the
transitions added and with those ended still open). A batch of fewer than ``JOURNAL_FROM`` transitions folds
its customers' entries at once; a larger one leaves them to ``funnel_fold`` (periodic, every minute), which
adds the whole journal, many batches in one statement, straight into the rollups at every grain (it alone
writes them), then sums the pending rows into the others. So a large
import shows in the funnel within a minute, and a staff log or a single API call at once. A manual move or a
merge folds the journal entries of its customers first. ``funnel_rebuild``
recomputes everything from the transitions (after a bulk load that bypassed the services, a customer deletion
or an edit of a customer's source, which the services do not track).

The package: ``grains`` (units, buckets, what transitions contribute), ``sql`` (the same in SQL),
``tracking`` (in step with the writes), ``rebuild`` and ``report``; the names callers use are re-exported here.
"""

from touchpoints.funnel.grains import DAY, MONTH, NEVER, duration_bucket, grain_next, grain_start
from touchpoints.funnel.rebuild import funnel_rebuild
from touchpoints.funnel.report import funnel_report, period_rows
from touchpoints.funnel.tracking import COPY_FROM, JOURNAL_FROM, FunnelTracker, funnel_fold, funnel_merge, journal_fold

__all__ = [
    "COPY_FROM",
    "DAY",
    "JOURNAL_FROM",
    "MONTH",
    "NEVER",
    "FunnelTracker",
    "duration_bucket",
    "funnel_fold",
    "funnel_merge",
    "funnel_rebuild",
    "funnel_report",
    "grain_next",
    "grain_start",
    "journal_fold",
    "period_rows",
]
