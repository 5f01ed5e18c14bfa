"""A fresh clone runs with no services: SQLite and the filesystem broker under TSUNAGU_VAR_DIR.

And a production configuration passes ``check --deploy`` cleanly, while a missing secret key stops
the app with a clear message. Each run is a real ``manage.py`` in a subprocess, with an environment
built from scratch (the test settings export variables of their own into this process).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_VARIABLES = ("DJANGO_", "TSUNAGU_", "DATABASE_", "CELERY_", "CACHE_URL")
RESULTS_MARK = "SMOKE RESULTS "

SMOKE_SCRIPT = f"""
import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from customers.models import Customer

User = get_user_model()
manager, _ = User.objects.get_or_create(username="smoke-manager", defaults={{"is_staff": True}})
manager.set_password("smoke-password-4821")
manager.save()
manager.groups.add(Group.objects.get(name="Manager"))

client = Client(HTTP_HOST="localhost")
logged_in = client.post(
    reverse("login"), {{"username": "smoke-manager", "password": "smoke-password-4821"}}
).status_code == 302
customer = Customer.objects.order_by("pk").first()
pages = {{
    "home": reverse("home"),
    "customer list": reverse("customers:list"),
    "customer search": reverse("customers:list") + "?q=a",
    "customer detail": customer.get_absolute_url(),
    "tags": reverse("customers:tags"),
    "duplicates": reverse("customers:duplicates"),
    "import": reverse("customers:import"),
    "timeline": reverse("customers:timeline", args=[customer.pk]),
    "funnel": reverse("touchpoints:funnel"),
    "members": reverse("loyalty:members"),
    "ticket queue": reverse("feedback:queue"),
    "cohorts": reverse("insights:cohorts"),
    "about the figures": reverse("insights:about"),
    "contact list": reverse("insights_scoring:contact_list"),
    "lapsed customers": reverse("insights:figure_customers", args=["lapsed_customers"]),
    "healthz": reverse("healthz"),
}}
status = {{name: client.get(url).status_code for name, url in pages.items()}}
health = json.loads(client.get(reverse("healthz")).content)
from crm.insights.models import CustomerScore, DailyRollup
from feedback.models import Ticket
from loyalty.models import Membership

counts = {{
    "customers": Customer.objects.count(),
    "members": Membership.objects.count(),
    "tickets": Ticket.objects.count(),
    "rollup days": DailyRollup.objects.count(),
    "scores": CustomerScore.objects.count(),
}}
print("{RESULTS_MARK}" + json.dumps({{"logged_in": logged_in, "counts": counts, "status": status, "health": health}}))
"""


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any of the project's variables, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_VARIABLES)}
    env.update(DJANGO_SETTINGS_MODULE="crm.settings", PYTHONDONTWRITEBYTECODE="1", **variables)
    return env


def manage(env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess) -> bool:
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-5000:], sep="\n")
    return result.returncode == 0


@pytest.fixture
def embedded_env(tmp_path) -> dict[str, str]:
    return clean_environment(DJANGO_DEBUG="true", TSUNAGU_VAR_DIR=str(tmp_path / "var"))


def test_a_fresh_clone_runs_on_sqlite_and_the_filesystem_broker(embedded_env, tmp_path):
    # given: no DATABASE_URL, DEBUG on, an empty var/ folder
    var = tmp_path / "var"

    # when: the database is migrated and filled with demo data by make demo's own script
    seeded = subprocess.run(  # noqa: S603 - our own script
        [str(ROOT / "bin" / "demo-seed")],
        cwd=ROOT,
        env={**embedded_env, "DEMO_CUSTOMERS": "50", "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert succeeded(seeded)

    # and: a manager logs in and opens the main pages
    smoke = manage(embedded_env, "shell", "-c", SMOKE_SCRIPT)
    assert succeeded(smoke)
    print(smoke.stdout)
    (line,) = [ln for ln in smoke.stdout.splitlines() if ln.startswith(RESULTS_MARK)]
    results = json.loads(line.removeprefix(RESULTS_MARK))

    # then: everything lives under var/, and every page answers 200
    assert (var / "tsunagu.sqlite3").is_file()
    assert (var / "broker").is_dir()
    assert results["logged_in"] is True
    # and: the demo has customers, members, tickets, rollups and scores (make demo's data, not an empty shell)
    assert results["counts"]["customers"] == 50
    assert all(results["counts"].values()), results["counts"]
    assert results["status"] == dict.fromkeys(results["status"], 200)
    assert results["health"]["database"] == "ok"
    assert results["health"]["broker"] == "ok"
    assert results["health"]["broker_transport"] == "filesystem"


def test_production_settings_pass_the_deployment_checks(tmp_path):
    # given: what an operator sets in production (DEBUG unset)
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:55432/postgres")
    env = clean_environment(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="crm.example.com",
        DATABASE_URL=database_url,
        TSUNAGU_VAR_DIR=str(tmp_path / "var"),
    )

    # when
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    # then: no warning at all
    assert succeeded(result)
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_without_a_secret_key_and_without_debug_the_app_refuses_to_start(tmp_path):
    # given: DEBUG off and no DJANGO_SECRET_KEY
    env = clean_environment(DJANGO_ALLOWED_HOSTS="crm.example.com", TSUNAGU_VAR_DIR=str(tmp_path / "var"))

    # when: the web application is loaded, as gunicorn and runserver do
    result = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-c", "import crm.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )

    # then: it stops, naming the missing variable
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_without_a_secret_key_commands_that_sign_nothing_still_run_and_check_warns(tmp_path):
    # given: DEBUG off and no DJANGO_SECRET_KEY, as in a fresh clone's shell
    env = clean_environment(DJANGO_ALLOWED_HOSTS="crm.example.com", TSUNAGU_VAR_DIR=str(tmp_path / "var"))

    # when
    migrations = manage(env, "makemigrations", "--check", "--dry-run")
    check = manage(env, "check")

    # then: the migration check works, and `check` names the missing variable
    assert migrations.returncode == 0, migrations.stderr
    assert "No changes detected" in migrations.stdout
    assert "tsunagu.W001" in check.stderr and "DJANGO_SECRET_KEY must be set" in check.stderr


@pytest.mark.parametrize("hours", ["25:00-08:00", "garbage", "9:30-07:00"])
def test_malformed_quiet_hours_stop_the_app_at_start_up_not_at_the_first_send(embedded_env, hours):
    result = manage({**embedded_env, "TSUNAGU_QUIET_HOURS": hours}, "check")
    assert result.returncode != 0
    assert "TSUNAGU_QUIET_HOURS must read like 21:00-08:00" in result.stderr
