"""The API schema is true to the answers: schemathesis generates requests from the live schema (/api/schema/),
sends them through Django's WSGI application with a key holding every scope, and checks each answer: never a 5xx,
a documented status code and content type, a body and headers matching the schema (issue 16).

Bounded (20 examples per operation, a fixed seed) so it runs in CI in a minute or two; ``-m schemathesis`` alone
runs it, ``--hypothesis-seed`` or a larger ``max_examples`` explores further by hand.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import CustomerFactory, api_key_create, member_join, programme_with_tiers

pytestmark = [pytest.mark.django_db, pytest.mark.schemathesis]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_key(db):
    _key, raw = api_key_create(name="Schema fuzzer")
    return raw


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, keeping the test's database connection: its request signals close old connections,
    which would end the test's transaction (Django's test client disconnects them the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def live_schema(api_key, wsgi_app):
    # Some rows for the generated ids to land on now and then (a customer with a membership and a touchpoint type).
    customer = CustomerFactory()
    member_join(customer=customer, programme=programme_with_tiers())
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", wsgi_app, headers={"Authorization": f"Bearer {api_key}"}
    )


# schemathesis' pytest plugin (``from_fixture``) fails under pytest 9, so each operation's strategy is driven by
# hypothesis here: the same generation and checks, one operation after another.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_answer_matches_the_schema(live_schema, api_key, mode):
    headers = {"Authorization": f"Bearer {api_key}"}
    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @seed(16)
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
