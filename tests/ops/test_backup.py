"""bin/backup and bin/restore, run as an operator runs them: the demo data seeded into a database of its own,
backed up (pg_dump custom format + the media folder), restored into a new database and media folder; the restored
copy has the same customers, a clean loyalty audit, rollups equal to a rebuild, and the uploaded files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings as django_settings
from psycopg import sql

from tests.celery.processes import database_url

ROOT = Path(__file__).resolve().parents[2]

# Printed by `manage.py shell` on a database: its customers, and its rollups before and after a rebuild.
SNAPSHOT = """
import json
from crm.insights import rollups
from crm.insights.models import CohortCell, DailyRollup, RollupEdge
from customers.models import Customer

def rows():
    return {
        "days": [[str(v) for v in row] for row in DailyRollup.objects.order_by("day").values_list(
            "day", *rollups.ALL_FIELDS, "revenue")],
        "edges": [[str(v) for v in row] for row in RollupEdge.objects.order_by(
            "kind", "from_day", "to_day", "from_is_first").values_list(
            "kind", "from_day", "to_day", "from_is_first", "n")],
        "cohorts": [[str(v) for v in row] for row in CohortCell.objects.order_by(
            "cohort_month", "month_offset").values_list("cohort_month", "month_offset", "customers")],
    }

customers = [[c.pk, c.email, c.family_name, str(c.updated_at)] for c in Customer.objects.order_by("pk")]
stored = rows()
rollups.rebuild()
print("SNAPSHOT " + json.dumps({"customers": customers, "stored": stored, "rebuilt": rows()}))
"""


def server_url(database: str) -> str:
    """An address of ``database`` on the PostgreSQL server the tests use."""
    url = urlsplit(database_url(django_settings.DATABASES["default"]))
    return urlunsplit(url._replace(path=f"/{database}"))


def drop(database: str) -> None:
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def run(command: list[str], env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def snapshot(env: dict[str, str]) -> dict:
    out = run([str(ROOT / ".venv/bin/python"), "manage.py", "shell", "-v", "0", "-c", SNAPSHOT], env)
    line = next(line for line in out.splitlines() if line.startswith("SNAPSHOT "))
    return json.loads(line.removeprefix("SNAPSHOT "))


def test_a_backup_restores_into_a_new_database_with_the_same_data(tmp_path):
    # given: the demo's data in a database of its own, and an uploaded file in its media folder
    prefix = django_settings.DATABASES["default"]["NAME"]  # names of this checkout's own: <database>_backup_…
    source, restored = f"{prefix}_backup_source", f"{prefix}_backup_restored"
    for database in (source, restored):
        drop(database)
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(source)))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DJANGO_SECRET_KEY": "backup-test-key",
        "DATABASE_URL": server_url(source),
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "TSUNAGU_VAR_DIR": str(tmp_path / "var"),
        "DEMO_CUSTOMERS": "60",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    try:
        # The demo's data comes with its logins, which seed_demo makes only for a demo (DEBUG on).
        run([str(ROOT / "bin/demo-seed")], {**env, "DJANGO_DEBUG": "true"})
        (tmp_path / "media" / "imports").mkdir(parents=True)
        (tmp_path / "media" / "imports" / "customers.csv").write_text("email\nhanako@example.com\n")
        before = snapshot(env)
        assert len(before["customers"]) >= 60

        # when: backed up, then restored into a new database and an empty media folder
        backup = Path(run([str(ROOT / "bin/backup"), str(tmp_path / "backups")], env).strip().splitlines()[-1])
        assert {p.name for p in backup.iterdir()} == {"tsunagu.dump", "media.tar.gz", "SHA256SUMS"}
        restore_env = {**env, "DATABASE_URL": server_url(restored), "DJANGO_MEDIA_ROOT": str(tmp_path / "restored")}
        out = run([str(ROOT / "bin/restore"), str(backup)], restore_env)

        # then: the same customers; the audit (run by bin/restore) clean; rollups equal to a rebuild; the files
        assert "memberships match their ledger" in out
        after = snapshot(restore_env)
        assert after["customers"] == before["customers"]
        assert after["stored"] == after["rebuilt"] == before["rebuilt"]
        assert (tmp_path / "restored" / "imports" / "customers.csv").read_text() == "email\nhanako@example.com\n"

        # and a restore never overwrites: the same command into the now full database is refused
        refused = subprocess.run(  # noqa: S603
            [str(ROOT / "bin/restore"), str(backup)], cwd=ROOT, env=restore_env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert refused.returncode != 0 and "already has" in refused.stderr
    finally:
        for database in (source, restored):
            drop(database)
