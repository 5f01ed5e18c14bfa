"""Fixtures for the tests that run a real Celery worker (and beat) against a real Redis and PostgreSQL.

The worker processes connect to pytest's test database, so these tests use ``transactional_db``: rows
are committed where the worker can see them. Each test gets a Redis server of its own on a free port,
so it can be stopped and restarted, and a local SMTP sink that counts what arrives.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.celery.processes import PrivateRedis, database_url, start_beat, start_worker
from tests.smtp_sink import SmtpSink, free_port


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sink():
    with SmtpSink(keep_content=False) as server:
        yield server


@pytest.fixture
def celery_env(transactional_db, private_redis, sink, settings) -> dict[str, str]:
    """The environment of the worker and beat processes: the test database, the private Redis, the sink,
    and short outreach timings (a one-second tick; a dead send attempt is settled after 5 s)."""
    settings.TSUNAGU_QUIET_HOURS = ""  # the tests run at any hour, in this process as in the worker
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.celery.worker_settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "DATABASE_CONN_MAX_AGE": "60",
        "CELERY_BROKER_URL": private_redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "2",
        "TSUNAGU_QUIET_HOURS": "",
        "TSUNAGU_OUTBOX_CLAIM_TIMEOUT": "5",
        "TSUNAGU_OUTBOX_REQUEUE_SECONDS": "5",
        "TSUNAGU_OUTBOX_RETRY_SECONDS": "1",
        "TSUNAGU_OUTREACH_TICK_SECONDS": "1",
        "TSUNAGU_OUTBOX_BATCH": "50",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture
def processes(celery_env, tmp_path):
    """Start workers and beats with ``processes.worker()`` / ``processes.beat()``; all are stopped at the end
    (before the test database is flushed)."""

    class Processes:
        def __init__(self):
            self.started = []

        def worker(self, name: str = "worker", env: dict | None = None, **kwargs):
            process = start_worker(env or celery_env, tmp_path, name=name, **kwargs)
            self.started.append(process)
            return process

        def beat(self, name: str = "beat", env: dict | None = None):
            process = start_beat(env or celery_env, tmp_path, name=name)
            self.started.append(process)
            return process

    running = Processes()
    yield running
    for process in running.started:
        process.stop()
