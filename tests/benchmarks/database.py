"""The benchmark databases: PostgreSQL databases of their own, one per size (``tsunagu_bench`` for the default
100,000 customers, ``tsunagu_bench_1000000`` for the full size), each seeded once and reused: running the default
size no longer drops the full-size database, which takes a quarter of an hour to seed again.

Runs before Django is set up (the settings read ``DATABASE_URL`` once), with psycopg directly for the
database-level work and ``manage.py`` subprocesses for ``migrate`` and ``seed_demo``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parents[2]
# BENCH_DATABASE names another database, e.g. to benchmark a branch without reseeding the shared one.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "")
DEFAULT_NAME = "tsunagu_bench"


def database_name(customers: int, default_customers: int) -> str:
    """``BENCH_DATABASE``, else the database of this size: ``tsunagu_bench``, or ``tsunagu_bench_<n>`` for another."""
    if BENCH_DATABASE:
        return BENCH_DATABASE
    return DEFAULT_NAME if customers == default_customers else f"{DEFAULT_NAME}_{customers}"


SEED = 42
# One customer with this many touchpoints, for the timeline benchmark (the first customer seeded).
LONG_HISTORY = 10_000


def with_database(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name`` (user, host, port and options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def base_url() -> str:
    """``DATABASE_URL`` when set, else the throwaway cluster of ``bin/testdb`` (started if needed)."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit(f"bench: DATABASE_URL must be a PostgreSQL URL, not {url.split(':')[0]}://…")
        return url
    result = subprocess.run(  # noqa: S603 (our own script)
        [str(BASE_DIR / "bin" / "testdb"), "start"], check=True, capture_output=True, text=True, cwd=BASE_DIR
    )
    return result.stdout.strip().splitlines()[-1]


def seed_fingerprint() -> str:
    """A hash of the seeder's code and word lists: when they change, the benchmark data is seeded again."""
    # Only what ``prepare`` runs: the loyalty and feedback demo seeders are not part of the benchmark data.
    files = [
        BASE_DIR / "touchpoints" / "management" / "commands" / "seed_demo.py",
        BASE_DIR / "touchpoints" / "demo_data.py",
        *sorted((BASE_DIR / "customers" / "seeding").glob("*.py")),
        *sorted((BASE_DIR / "customers" / "demo_data").glob("*.py")),
        *sorted((BASE_DIR / "touchpoints" / "seeding").glob("*.py")),
    ]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    subprocess.run([sys.executable, "manage.py", *args], check=True, cwd=BASE_DIR, env=env)  # noqa: S603


def prepare(url: str, *, customers: int, reseed: bool = False, log=print) -> dict:
    """Make ``url``'s database hold exactly ``customers`` customers seeded by the current seeder.

    The database's comment records what seeded it (``seed=<fingerprint> customers=<n>``); a database
    seeded by another version of the seeder, or with another size, is dropped and seeded again.
    """
    name = urlsplit(url).path.lstrip("/")
    maintenance = with_database(url, "postgres")
    stamp = f"tsunagu-bench seed={seed_fingerprint()} customers={customers} long-history={LONG_HISTORY}"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        found = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if found and (reseed or found[0] != stamp):
            log(f"bench: dropping {name} (seeded {found[0] or 'by something else'}; want {stamp})")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            found = None
        if not found:
            log(f"bench: creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _manage(url, "migrate", "--noinput", "-v", "0")
    info: dict = {"database": name, "customers": customers, "seed": SEED, "stamp": stamp}
    if found:
        log(f"bench: reusing {name} ({customers:,} customers)")
        info["reused"] = True
        return info
    log(f"bench: seeding {customers:,} customers into {name}")
    started = time.monotonic()
    _manage(
        url,
        "seed_demo",
        "--demo-logins",
        "--customers",
        str(customers),
        "--seed",
        str(SEED),
        "--long-history",
        str(LONG_HISTORY),
    )
    info["seed_seconds"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(stamp)))
    info["vacuum_seconds"] = round(time.monotonic() - started, 1)
    info["reused"] = False
    log(f"bench: seeded in {info['seed_seconds']}s, VACUUM ANALYZE in {info['vacuum_seconds']}s")
    return info
