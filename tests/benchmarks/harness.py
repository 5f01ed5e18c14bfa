"""The benchmark harness: a registry of benchmark functions, timing helpers, and the report.

A section is a module ``tests/benchmarks/bench_<section>.py`` whose functions are registered with
``@benchmark("<section>")``; ``run.py`` imports every such module, so a later issue adds its section
(touchpoints timeline, funnel, API…) by adding one file::

    from tests.benchmarks.harness import Context, Measurement, benchmark, target

    @benchmark("touchpoints")
    def timeline_first_page(ctx: Context) -> list[Measurement]:
        m = ctx.time_page("timeline: first page", url, main_query=lambda sql: "touchpoints_touchpoint" in sql)
        m.check(target("p95 < 40 ms", m.p95_ms, lambda v: v < 40))
        return [m]

A benchmark returns ``Measurement``s: a page's server time (median and p95 over ``ctx.repeats`` requests
after a warm-up, through Django's test client), its query count, its main SQL query timed raw, or any
other figure (``value`` with a ``unit``), each with the targets it is held to.
"""

from __future__ import annotations

import math
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# --- Registry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    section: str
    name: str
    func: Callable[[Context], list[Measurement]]


REGISTRY: list[Benchmark] = []


def benchmark(section: str) -> Callable:
    """Register a benchmark function under ``section``; they run in the order they were registered."""

    def register(func: Callable[[Context], list[Measurement]]) -> Callable[[Context], list[Measurement]]:
        REGISTRY.append(Benchmark(section=section, name=func.__name__, func=func))
        return func

    return register


# --- Results --------------------------------------------------------------------------------------


@dataclass
class Check:
    target: str
    passed: bool | None  # None: could not be measured

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "MISS" if self.passed is False else "n/a"


def target(label: str, value: float | None, ok: Callable[[float], bool]) -> Check:
    return Check(target=label, passed=None if value is None else bool(ok(value)))


@dataclass
class Measurement:
    name: str
    section: str = ""
    median_ms: float | None = None
    p95_ms: float | None = None
    cpu_ms: float | None = None  # median CPU time of this process per request: the Python share of the time
    queries: int | None = None
    raw_sql_ms: float | None = None
    # The framework floor (tests/benchmarks/floor.py): a bare view rendering the main query's rows, median ms.
    floor_ms: float | None = None
    value: float | None = None
    unit: str = ""
    note: str = ""
    sql: str = ""
    all_sql_ms: float | None = None  # every query of the page run raw, added up
    slowest_sql: str = ""  # the page's slowest query, run raw (often the count, not the page query)
    slowest_sql_ms: float | None = None
    peak_rss_mb: float | None = None  # the process's peak memory when this benchmark ended (JSON only)
    checks: list[Check] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.median_ms is None or not self.raw_sql_ms:
            return None
        return self.median_ms / self.raw_sql_ms

    @property
    def floor_ratio(self) -> float | None:
        """The page's median time over its framework floor's: 1.0 is as fast as Django can show those rows."""
        if self.median_ms is None or not self.floor_ms:
            return None
        return self.median_ms / self.floor_ms

    def check(self, *checks: Check) -> Measurement:
        self.checks.extend(checks)
        return self

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["floor_ratio"] = self.floor_ratio
        data["checks"] = [{"target": c.target, "status": c.status} for c in self.checks]
        return data


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 30 samples is the 29th smallest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


# --- Context: what a benchmark function gets -------------------------------------------------------


@dataclass
class Context:
    client: Any  # django.test.Client, logged in
    customers: int
    repeats: int = 30
    warmup: int = 5
    results: dict[str, Measurement] = field(default_factory=dict)  # by name, for relative targets
    data: dict[str, Any] = field(default_factory=dict)  # anything sections want to share

    def _time_get(self, name: str, url: str, headers: dict) -> tuple[list[float], list[float]]:
        samples, cpu = [], []
        for i in range(self.warmup + self.repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = self.client.get(url, headers=headers)
            elapsed, cpu_elapsed = (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000
            if response.status_code != 200:
                raise AssertionError(f"{name}: GET {url} answered {response.status_code}")
            if i >= self.warmup:
                samples.append(elapsed)
                cpu.append(cpu_elapsed)
        return samples, cpu

    def time_floor(self, sql: str) -> float | None:
        """Median time of the framework floor for ``sql`` (tests/benchmarks/floor.py), or None without one."""
        from tests.benchmarks import floor

        if floor.model_of(sql) is None:
            return None
        samples, _ = self._time_get("framework floor", f"/__floor__/{floor.register(sql)}/", {})
        return statistics.median(samples)

    def time_page(
        self, name: str, url: str, *, main_query: Callable[[str], bool] | None = None, headers: dict | None = None
    ) -> Measurement:
        """Median and p95 server time of GET ``url``; its query count; its main query timed raw, and the framework
        floor of its rows."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        headers = headers or {}
        samples, cpu = self._time_get(name, url, headers)
        with CaptureQueriesContext(connection) as captured:
            self.client.get(url, headers=headers)
        m = Measurement(
            name=name,
            median_ms=statistics.median(samples),
            p95_ms=percentile(samples, 95),
            cpu_ms=statistics.median(cpu),
            queries=len(captured.captured_queries),
        )
        if main_query is not None:
            sqls = [q["sql"] for q in captured.captured_queries if main_query(q["sql"])]
            if sqls:
                m.sql = sqls[0]
                m.raw_sql_ms = self.time_sql(m.sql)
                m.floor_ms = self.time_floor(m.sql)
            else:
                m.note = "main query not found"
        timed = [
            (self.time_sql(q["sql"], repeats=3, warmup=1), q["sql"]) for q in captured.captured_queries if _is_read(q)
        ]
        if timed:
            m.all_sql_ms = sum(ms for ms, _ in timed)
            m.slowest_sql_ms, m.slowest_sql = max(timed)
            if m.slowest_sql != m.sql:
                slowest = f"slowest query: {_label(m.slowest_sql)} {m.slowest_sql_ms:.1f} ms"
                m.note = f"{m.note}; {slowest}" if m.note else slowest
        self.results[name] = m
        return m

    def time_sql(
        self, sql: str, params: list | None = None, *, repeats: int | None = None, warmup: int | None = None
    ) -> float:
        """Median time of running ``sql`` and fetching its rows, on the app's own connection."""
        from django.db import connection

        repeats = self.repeats if repeats is None else repeats
        warmup = self.warmup if warmup is None else warmup
        samples = []
        with connection.cursor() as cursor:
            for i in range(warmup + repeats):
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                if i >= warmup:
                    samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)


def _is_read(query: dict) -> bool:
    sql = query["sql"].lstrip("( ").upper()
    return sql.startswith("SELECT")  # not DECLARE (server-side cursors), not writes


def _label(sql: str) -> str:
    if sql.lstrip("( ").upper().startswith("SELECT COUNT("):
        return "count"
    match = re.search(r'FROM "(\w+)"', sql)
    return match.group(1) if match else sql[:30]


def run_all(ctx: Context, *, only: set[str] | None = None, log: Callable[[str], None] = print) -> list[Measurement]:
    measurements: list[Measurement] = []
    for bench in REGISTRY:
        if only and bench.section not in only and f"{bench.section}.{bench.name}" not in only:
            continue
        log(f"  running {bench.section}.{bench.name}…")
        try:
            results = bench.func(ctx)
        except Exception as exc:  # report it and go on with the other benchmarks
            results = [Measurement(name=bench.name, note=f"failed: {type(exc).__name__}: {exc}")]
        for m in results:
            m.section = m.section or bench.section
            m.peak_rss_mb = peak_rss_mb()
            measurements.append(m)
    return measurements


LOOP_ITERATIONS = 10_000_000


def machine_speed() -> float:
    """Seconds a fixed pure-Python loop takes here (best of three): printed with every run, so figures from two
    machines can be compared (the issue's reference machine: 1.26 s)."""
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(LOOP_ITERATIONS):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def floor_target(m: Measurement, limit: float) -> Check:
    return target(f"<= {limit}x framework floor", m.floor_ratio, lambda v: v <= limit)


def peak_rss_mb() -> float:
    """This process's peak resident memory (``ru_maxrss``: kilobytes on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


# --- Report ---------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "" if value is None else f"{value:{spec}}{suffix}"


def _table(header: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells))

    return "\n".join(line(r).rstrip() for r in [header, ["-" * w for w in widths], *rows])


def _targets(m: Measurement) -> str:
    text = "; ".join(f"{c.target} {c.status}" for c in m.checks)
    if m.note:
        text = f"{text} ({m.note})" if text else m.note
    return text


def render_table(measurements: list[Measurement]) -> str:
    """Pages (timed requests) in one table, other figures (throughput, memory…) in a second."""
    pages = [m for m in measurements if m.value is None]
    figures = [m for m in measurements if m.value is not None]
    out = []
    if pages:
        header = ["section", "page", "median ms", "p95 ms", "CPU ms", "queries", "all SQL ms", "raw SQL ms"]
        header += ["floor ms", "page/floor", "page/raw", "targets"]
        rows = [
            [
                m.section,
                m.name,
                _fmt(m.median_ms, ".2f"),
                _fmt(m.p95_ms, ".2f"),
                _fmt(m.cpu_ms, ".1f"),
                _fmt(m.queries, "d"),
                _fmt(m.all_sql_ms, ".2f"),
                _fmt(m.raw_sql_ms, ".2f"),
                _fmt(m.floor_ms, ".2f"),
                _fmt(m.floor_ratio, ".2f", "x"),
                _fmt(m.ratio, ".1f", "x"),
                _targets(m),
            ]
            for m in pages
        ]
        out.append(_table(header, rows, numeric={2, 3, 4, 5, 6, 7, 8, 9, 10}))
    if figures:
        header = ["section", "figure", "value", "targets"]
        rows = [
            [m.section, m.name, f"{m.value:,.{0 if abs(m.value) >= 100 else 2}f} {m.unit}".strip(), _targets(m)]
            for m in figures
        ]
        out.append(_table(header, rows, numeric={2}))
    return "\n\n".join(out)


def summary(measurements: list[Measurement]) -> tuple[int, int]:
    checks = [c for m in measurements for c in m.checks if c.passed is not None]
    return sum(c.passed for c in checks), sum(not c.passed for c in checks)
