"""`make bench`, run as the README says a user runs it (a small size and a few sections, so it fits in the
suite): it seeds its own database, prints the machine's speed and each page's ratio to its framework floor, and
writes the results file. The README's commands are all run by a test; this one broke before anyone noticed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.ops.test_backup import drop, server_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.demo
def test_make_bench_prints_ratios_to_the_framework_floor(tmp_path):
    database = f"{django_settings.DATABASES['default']['NAME']}_bench_cmd"
    drop(database)
    env = {
        **os.environ,
        "DATABASE_URL": server_url("postgres"),
        "BENCH_DATABASE": database,
        "BENCH_CUSTOMERS": "300",
        "BENCH_REPEATS": "2",
        "BENCH_TICKETS": "300",
        "BENCH_ONLY": "customers.list_first_page,feedback.ticket_page",
        "TSUNAGU_VAR_DIR": str(tmp_path / "var"),
    }
    try:
        result = subprocess.run(  # noqa: S603
            ["make", "--no-print-directory", "bench"],  # noqa: S607
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, f"make bench failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        out = result.stdout
        assert "machine speed: a 10,000,000-iteration Python loop takes" in out
        assert "page/floor" in out and "targets met" in out
        results = json.loads((tmp_path / "var" / "bench" / "results.json").read_text())
        assert results["machine_speed_s"] > 0
        pages = {m["name"]: m for m in results["measurements"]}
        first = pages["list: first page"]
        assert first["floor_ms"] > 0 and first["floor_ratio"] > 0
        assert any(c["target"].endswith("x framework floor") for c in first["checks"])
        assert any(name.startswith("ticket page (") and m["floor_ratio"] for name, m in pages.items())
    finally:
        drop(database)
