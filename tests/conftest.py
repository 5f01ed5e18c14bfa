from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import translation

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Japanese (Accept-Language) leaves its language active
    in the thread, and a later test would read Japanese messages."""
    yield
    translation.deactivate()


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role="Manager")


@pytest.fixture
def support(db):
    return UserFactory(username="support", role="Support")


@pytest.fixture
def marketing(db):
    return UserFactory(username="marketing", role="Marketing")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client


@pytest.fixture
def marketing_client(client, marketing):
    client.force_login(marketing)
    return client


@pytest.fixture
def line_standin(settings, monkeypatch):
    """The LINE stand-in (tests/line_standin.py) on a free port, with Tsunagu's LINE settings pointed at it."""
    from tests.line_standin import SECRET, TOKEN, LineStandin

    settings.LINE_API_HOST = "http://127.0.0.1:0"
    settings.LINE_CHANNEL_SECRET = SECRET
    settings.LINE_CHANNEL_ID = "1650000000"
    settings.LINE_PROVIDER_ID = "provider-1"
    settings.LINE_CHANNEL_ACCESS_TOKEN_FILE = ""
    settings.TSUNAGU_QUIET_HOURS = ""
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", TOKEN)
    with LineStandin() as standin:
        settings.LINE_API_HOST = standin.url
        settings.LINE_ACCESS_HOST = standin.url
        yield standin
