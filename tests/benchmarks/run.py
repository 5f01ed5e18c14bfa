"""Run the benchmarks: ``bin/bench`` (``make bench``), or ``python -m tests.benchmarks.run``.

    BENCH_CUSTOMERS=1000000 bin/bench            # the full size the targets are set for
    bin/bench --only customers --repeats 50      # one section, more samples
    bin/bench --reseed                           # drop and seed the benchmark database again
    BENCH_CARD_MEMBERS=1000000 bin/bench --only member_card.till_lookup   # the till lookup among a million cards

Seeds (once) a separate PostgreSQL database per size (``tsunagu_bench``, ``tsunagu_bench_1000000``: see
``database.database_name``) on the server of ``DATABASE_URL`` (or of
``bin/testdb``), runs every registered benchmark (modules ``tests/benchmarks/bench_*.py``), prints the
table and writes it to ``var/bench/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import pkgutil
import sys
from pathlib import Path

from tests.benchmarks import database, harness

DEFAULT_CUSTOMERS = 100_000
TARGETS_AT = 1_000_000


def _load_sections() -> list[str]:
    package = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(package)]) if m.name.startswith("bench_"))
    for name in names:
        importlib.import_module(f"tests.benchmarks.{name}")
    return names


def _peak_memory(name: str) -> harness.Measurement:
    return harness.Measurement(name=name, section="process", value=harness.peak_rss_mb(), unit="MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", DEFAULT_CUSTOMERS) or DEFAULT_CUSTOMERS)
    )
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 30)))
    parser.add_argument(
        "--only",
        action="append",
        default=[s for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()],
        help="a section (or section.benchmark) to run; repeatable (BENCH_ONLY=a,b from make)",
    )
    parser.add_argument("--reseed", action="store_true", help="drop the benchmark database and seed it again")
    parser.add_argument("--output", default="", help="results file (default var/bench/results.json)")
    args = parser.parse_args(argv)

    url = database.with_database(database.base_url(), database.database_name(args.customers, DEFAULT_CUSTOMERS))
    seeding = database.prepare(url, customers=args.customers, reseed=args.reseed)

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    # No setup_test_environment(): its instrumented template rendering would add to every page's time.
    # The project's URLs plus the framework floor's (tests/benchmarks/floor.py).
    settings.ROOT_URLCONF = "tests.benchmarks.floor"
    speed = harness.machine_speed()
    sections = _load_sections()
    client = Client()
    client.force_login(get_user_model().objects.get(username="manager"))
    ctx = harness.Context(client=client, customers=args.customers, repeats=args.repeats)
    print(f"bench: {len(harness.REGISTRY)} benchmarks in {', '.join(sections)}; {args.repeats} requests each")
    load_before = os.getloadavg()
    logging.disable(logging.INFO)  # the services' INFO lines would bury the table
    measurements = harness.run_all(ctx, only=set(args.only or []))
    logging.disable(logging.NOTSET)
    load_after = os.getloadavg()
    measurements.append(_peak_memory("peak memory (RSS) of this web process"))

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (pg_version,) = cursor.fetchone()
    title = (
        f"Tsunagu benchmarks: {args.customers:,} customers, PostgreSQL {pg_version}, "
        f"{os.cpu_count()} CPUs, {dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"machine speed: a {harness.LOOP_ITERATIONS:,}-iteration Python loop takes {speed:.2f} s "
        "(the targets were set where it took 1.26 s)\n"
        "page/floor: the page's median over a bare Django view rendering the same rows (tests/benchmarks/floor.py)\n"
        f"load average {load_before[0]:.2f} before the runs, {load_after[0]:.2f} after"
    )
    if max(load_before[0], load_after[0]) > (os.cpu_count() or 1):
        title += " (above the CPU count: other work competed for the machine, wall times are inflated)"
    if args.customers != TARGETS_AT:
        title += f"\n(the targets are set for {TARGETS_AT:,} customers: BENCH_CUSTOMERS={TARGETS_AT} bin/bench)"
    table = harness.render_table(measurements)
    passed, missed = harness.summary(measurements)
    print(f"\n{title}\n\n{table}\n\n{passed} targets met, {missed} missed.")

    output = Path(args.output) if args.output else Path(settings.VAR_DIR) / "bench" / "results.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "title": title,
                "customers": args.customers,
                "postgresql": pg_version,
                "cpus": os.cpu_count(),
                "machine_speed_s": speed,
                "load_average": {"before": load_before, "after": load_after},
                "at": dt.datetime.now().isoformat(timespec="seconds"),
                "seeding": seeding,
                "measurements": [m.as_dict() for m in measurements],
                "table": table,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    print(f"Results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
