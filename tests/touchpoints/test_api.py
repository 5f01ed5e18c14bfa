import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from tests.factories import CustomerFactory, api_key_create, touchpoint_create
from touchpoints.models import ApiKey, CustomerJourney, Touchpoint
from touchpoints.services import api_key_revoke

pytestmark = pytest.mark.django_db

TOUCHPOINTS = "/api/v1/touchpoints/"
CUSTOMERS = "/api/v1/customers/"


@pytest.fixture
def api_key():
    key, raw = api_key_create()
    key.raw = raw
    return key


@pytest.fixture
def api(api_key):
    return Client(headers={"Authorization": f"Bearer {api_key.raw}"})


def post(client: Client, url: str, payload):
    return client.post(url, payload, content_type="application/json")


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer tsu_wrong", "Bearer a b", "Token tsu_x", "Basic dXNlcjpwYXNz", "Bearer ключ"],
)
def test_requests_without_a_valid_key_are_refused(header):
    client = Client(headers={"Authorization": header} if header else {})
    response = post(client, TOUCHPOINTS, {"customer_id": 1, "type": "research"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Touchpoint.objects.exists()


def test_a_key_in_the_query_string_is_ignored(api_key):
    response = post(Client(), f"{TOUCHPOINTS}?api_key={api_key.raw}&key={api_key.raw}", {"type": "research"})
    assert response.status_code == 401


def test_a_revoked_key_is_refused(api, api_key):
    customer = CustomerFactory()
    assert post(api, TOUCHPOINTS, {"customer_id": customer.pk, "type": "research"}).status_code == 201
    api_key_revoke(api_key=api_key, by=None)
    assert post(api, TOUCHPOINTS, {"customer_id": customer.pk, "type": "research"}).status_code == 401


def test_a_staff_session_does_not_reach_the_api(manager_client):
    customer = CustomerFactory()
    response = post(manager_client, TOUCHPOINTS, {"customer_id": customer.pk, "type": "research"})
    assert response.status_code == 401


def test_last_used_is_written_at_most_once_a_minute(api, api_key, django_assert_num_queries):
    url = reverse("api:customer_touchpoints", args=[CustomerFactory().pk])
    api.get(url)
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    api.get(url)
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    api.get(url)
    assert ApiKey.objects.get().last_used_at > first


# --- touchpoints ----------------------------------------------------------------------------------


def test_record_one_touchpoint_by_external_id(api, api_key):
    customer = CustomerFactory(external_id="SHOP-1")
    response = post(
        api,
        TOUCHPOINTS,
        {
            "customer_external_id": "SHOP-1",
            "type": "transaction",
            "channel": "web",
            "amount": "12800",
            "order_reference": "A-100",
            "occurred_at": "2026-01-05T10:00:00+09:00",
            "metadata": {"items": 2},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["type"], body["stage"], body["amount"], body["currency"]) == (
        "transaction",
        "decision",
        "12800.00",
        "JPY",
    )
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.customer, touchpoint.recorded_by_api_key, touchpoint.source) == (customer, api_key, "api")
    assert CustomerJourney.objects.get(customer=customer).stage == "decision"


def test_record_by_email_ignores_case(api):
    customer = CustomerFactory(email="hanako@example.jp")
    response = post(api, TOUCHPOINTS, {"customer_email": "Hanako@Example.JP", "type": "research"})
    assert response.status_code == 201
    assert Touchpoint.objects.get().customer == customer


def test_validation_errors_name_each_field(api):
    response = post(
        api,
        TOUCHPOINTS,
        {"customer_id": 999999, "type": "no-such-type", "channel": "pigeon", "amount": "-5", "currency": "yen"},
    )
    assert response.status_code == 400
    assert set(response.json()) == {"channel", "amount", "currency"}
    response = post(api, TOUCHPOINTS, {"customer_id": 999999, "type": "no-such-type"})
    assert response.status_code == 400
    assert set(response.json()) == {"customer", "type"}
    response = post(api, TOUCHPOINTS, {"customer_id": 1, "customer_email": "a@b.jp", "type": "pr"})
    assert set(response.json()) == {"customer"}
    assert not Touchpoint.objects.exists()


def test_a_retried_request_returns_the_first_result_with_200(api):
    customer = CustomerFactory()
    payload = {"customer_id": customer.pk, "type": "transaction", "amount": "500", "idempotency_key": "order-77"}
    first = post(api, TOUCHPOINTS, payload)
    second = post(api, TOUCHPOINTS, payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Touchpoint.objects.count() == 1


def test_a_batch_records_every_item(api):
    customers = CustomerFactory.create_batch(3)
    items = [
        {"customer_id": c.pk, "type": slug, "idempotency_key": f"k-{c.pk}-{slug}"}
        for c in customers
        for slug in ("brand-exposure", "research")
    ]
    response = post(api, TOUCHPOINTS, {"touchpoints": items})
    assert response.status_code == 201, response.json()
    assert (response.json()["created"], response.json()["replayed"]) == (6, 0)
    assert Touchpoint.objects.count() == 6
    assert set(CustomerJourney.objects.values_list("stage", flat=True)) == {"consideration"}
    retry = post(api, TOUCHPOINTS, {"touchpoints": items})
    assert retry.status_code == 200
    assert (retry.json()["created"], retry.json()["replayed"]) == (0, 6)
    assert [t["id"] for t in retry.json()["touchpoints"]] == [t["id"] for t in response.json()["touchpoints"]]
    assert Touchpoint.objects.count() == 6


def test_a_batch_with_bad_items_records_none_and_names_them(api):
    customer = CustomerFactory()
    items = [
        {"customer_id": customer.pk, "type": "research"},
        {"customer_id": customer.pk, "type": "nope"},
        {"customer_id": customer.pk, "type": "research"},
        {"customer_id": customer.pk, "type": "research", "channel": "fax", "amount": "1.234"},
        "not an object",
    ]
    response = post(api, TOUCHPOINTS, {"touchpoints": items})
    assert response.status_code == 400
    errors = {e["index"]: e["errors"] for e in response.json()["errors"]}
    assert set(errors) == {1, 3, 4}
    assert set(errors[1]) == {"type"}
    assert set(errors[3]) == {"channel", "amount"}
    assert "4 of 5" not in response.json()["detail"] and "3 of 5" in response.json()["detail"]
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize("payload", [{"touchpoints": []}, {"touchpoints": "x"}, {"touchpoints": [{}] * 1001}])
def test_a_batch_must_be_a_list_of_1_to_1000(api, payload):
    response = post(api, TOUCHPOINTS, payload)
    assert response.status_code == 400
    assert "touchpoints" in response.json()


def test_list_a_customers_touchpoints_with_a_cursor(api):
    customer = CustomerFactory()
    for n in range(5):
        touchpoint_create(customer, "research", occurred_at=timezone.now() - dt.timedelta(hours=n), summary=f"t{n}")
    touchpoint_create(CustomerFactory(), "research", summary="someone else")
    url = reverse("api:customer_touchpoints", args=[customer.pk])
    body = api.get(url, {"page_size": 2}).json()
    assert [t["summary"] for t in body["results"]] == ["t0", "t1"]
    body = api.get(body["next"]).json()
    assert [t["summary"] for t in body["results"]] == ["t2", "t3"]
    assert api.get(reverse("api:customer_touchpoints", args=[10**20])).status_code == 404


# --- throttling and the schema --------------------------------------------------------------------


def test_each_key_is_rate_limited(api, settings):
    settings.TSUNAGU_API_RATE_LIMIT = "3/minute"
    cache.clear()
    url = reverse("api:customer_touchpoints", args=[CustomerFactory().pk])
    responses = [api.get(url) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert 0 < int(responses[-1]["Retry-After"]) <= 60
    _other, raw = api_key_create(name="Other system")
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get(url).status_code == 200


def test_requests_in_parallel_do_not_slip_past_the_limit(api_key, settings):
    # DRF's throttle read its history and wrote it back: of requests at the same moment, each counted only itself
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from touchpoints.api_auth import ApiKeyRateThrottle

    settings.TSUNAGU_API_RATE_LIMIT = "25/minute"
    cache.clear()
    request = SimpleNamespace(auth=api_key)
    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(lambda _n: ApiKeyRateThrottle().allow_request(request, None), range(60)))
    # (a window that ended during the test allows 25 more, at most)
    assert allowed.count(True) in (25, 50)
    throttle = ApiKeyRateThrottle()
    if not throttle.allow_request(request, None):
        assert 0 < throttle.wait() <= 60


def test_the_schema_is_valid_and_documents_bearer_keys(api):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert {"/api/v1/touchpoints/", "/api/v1/customers/", "/api/v1/customers/{id}/touchpoints/"} <= set(schema["paths"])
    assert Client().get("/api/schema/").status_code in (401, 403)


# --- fuzzing --------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "customer_id",
    "customer_external_id",
    "customer_email",
    "type",
    "channel",
    "direction",
    "occurred_at",
    "summary",
    "amount",
    "currency",
    "order_reference",
    "campaign",
    "utm_source",
    "metadata",
    "idempotency_key",
]
field_values = st.one_of(
    json_values,
    st.sampled_from(["research", "transaction", "web", "inbound", "JPY", "9999-12-31T23:59:59-14:00", "0001-01-01"]),
    st.sampled_from(
        ["2026-11-26T12:00:00+09:00", "2026-11-26T03:00:00Z", "2026-11-26T12:00:00", "2024-02-29 23:59:59.5-08"]
    ),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(dt.datetime.isoformat),
    st.sampled_from(["research ", " web", "ok\n", "タグ", "a\x00b", "x" * 101, "", "  ", "\ud800"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
touchpoint_like = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=len(FIELDS))
payloads = st.one_of(
    json_values,
    touchpoint_like,
    st.builds(lambda items: {"touchpoints": items}, st.lists(st.one_of(touchpoint_like, json_values), max_size=5)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_random_json_never_gives_a_server_error(api, payload):
    customer = Customer.objects.first() or CustomerFactory(external_id="FUZZ", email="fuzz@example.jp")
    if isinstance(payload, dict) and payload.get("customer_id") == "me":
        payload["customer_id"] = customer.pk
    for url in (TOUCHPOINTS, CUSTOMERS):
        response = post(api, url, payload)
        assert response.status_code < 500, (url, payload, response.content[:500])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=200))
def test_random_bytes_never_give_a_server_error(api, body):
    response = api.post(TOUCHPOINTS, body, content_type="application/json")
    assert response.status_code < 500


nearly_valid = st.fixed_dictionaries(
    {"customer_id": st.integers(min_value=-1, max_value=2**64), "type": st.sampled_from(["research", "transaction"])},
    optional={name: field_values for name in FIELDS if name not in ("customer_id", "type")}
    | {"amount": st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)},
)


@settings(max_examples=300, deadline=None)
@given(item=st.one_of(nearly_valid, touchpoint_like, json_values))
def test_quick_validation_accepts_only_what_drf_accepts_and_gives_the_same_data(item):
    """The batch endpoint's fast path (``quick_validation``) never accepts an item DRF refuses, and gives the same
    validated data when it accepts one; when it declines, the endpoint falls back to DRF for the errors."""
    from rest_framework import serializers as drf

    from touchpoints.serializers import TouchpointInSerializer

    serializer = TouchpointInSerializer()
    quick = serializer.quick_validation(item)
    try:
        full = dict(serializer.run_validation(item))
    except drf.ValidationError:
        assert quick is None
    else:
        assert quick is None or quick == full


def test_quick_validation_takes_a_typical_item():
    from touchpoints.serializers import TouchpointInSerializer

    item = {"customer_id": 7, "type": "transaction", "channel": "store", "amount": "1500", "summary": " Lunch "}
    serializer = TouchpointInSerializer()
    assert serializer.quick_validation(item) == dict(serializer.run_validation(item))
    assert serializer.quick_validation(item)["amount"] == Decimal("1500.00")


@pytest.mark.parametrize(
    ("name", "value", "plain"),
    [
        ("customer_id", 7, True),
        ("customer_id", "7", False),  # DRF takes it too, by its own path
        ("customer_id", True, False),
        ("type", "follow-up-email", True),
        ("type", "research ", False),
        ("channel", "line", True),
        ("channel", "LINE", False),
        ("occurred_at", "2026-11-26T12:00:00+09:00", True),
        ("occurred_at", "2026-11-26T12:00:00", False),  # naive: DRF makes it aware
        ("summary", "Called about the order", True),
        ("summary", "電話で注文の相談", False),
        ("summary", " padded ", False),
        ("idempotency_key", "", True),
    ],
)
def test_plain_values_are_checked_without_drf_and_give_what_drf_gives(name, value, plain):
    from touchpoints.serializers import _NOT_PLAIN, TouchpointInSerializer, _plain_check

    field = TouchpointInSerializer().fields[name]
    checked = _plain_check(field)(value)
    assert (checked is not _NOT_PLAIN) is plain
    if plain:
        with timezone.override("Asia/Tokyo"):
            assert _plain_check(field)(value) == field.run_validation(value)
            if name == "occurred_at":
                assert _plain_check(field)(value).tzinfo == field.run_validation(value).tzinfo


def test_a_batch_names_every_unknown_customer_whether_or_not_other_items_are_bad(api):
    customer = CustomerFactory()
    good = {"customer_id": customer.pk, "type": "research"}
    only_customers = [good, {"customer_id": 999_998, "type": "research"}, good, {"customer_id": 999_999, "type": "pr"}]
    response = post(api, TOUCHPOINTS, {"touchpoints": only_customers})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "errors": {"customer": ["Unknown customer."]}},
        {"index": 3, "errors": {"customer": ["Unknown customer."]}},
    ]
    mixed = [*only_customers, {"customer_id": customer.pk, "type": "no-such-type"}]
    response = post(api, TOUCHPOINTS, {"touchpoints": mixed})
    assert response.status_code == 400
    assert [(e["index"], sorted(e["errors"])) for e in response.json()["errors"]] == [
        (1, ["customer"]),
        (3, ["customer"]),
        (4, ["type"]),
    ]
    assert not Touchpoint.objects.exists()
    assert not CustomerJourney.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        '{"customer_id": 1, "type": "research", "channel": "\\ud800"}',  # quoted back by a choice's error message
        '{"customer_id": 1, "type": "research", "metadata": {"note": "a\\udfffb"}}',  # written to PostgreSQL
        '{"touchpoints": [{"customer_id": 1, "type": "research", "summary": "\\ud83d"}]}',
        '{"customer_id": 1, "type": "research", "summary": "\\uDBFF"}',  # upper case
    ],
)
def test_a_lone_surrogate_is_a_bad_request_not_a_server_error(api, body):
    response = api.post(TOUCHPOINTS, body, content_type="application/json")
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]
    assert not Touchpoint.objects.exists()


def test_an_escaped_pair_is_one_character_and_passes(api):
    customer = CustomerFactory()
    body = '{"customer_id": CUSTOMER, "type": "research", "summary": "\\ud83d\\ude00 thanks"}'.replace(
        "CUSTOMER", str(customer.pk)
    )
    response = api.post(TOUCHPOINTS, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Touchpoint.objects.get().summary == "\U0001f600 thanks"


def test_text_that_only_looks_like_a_surrogate_escape_and_an_escaped_pair_are_accepted(api):
    customer = CustomerFactory()
    text = '"C:\\\\ud800 \\ud83d\\ude00"'  # a backslash and "ud800", then an emoji as an escaped pair
    body = f'{{"customer_id": {customer.pk}, "type": "research", "summary": {text}}}'
    response = api.post(TOUCHPOINTS, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Touchpoint.objects.get().summary == "C:\\ud800 \U0001f600"


def test_an_empty_touchpoint_names_the_missing_customer_with_the_missing_type(api):
    response = post(api, TOUCHPOINTS, {})
    assert response.status_code == 400
    assert set(response.json()) == {"type", "customer"}
    customer = CustomerFactory()
    batch = [{"customer_id": customer.pk, "type": "research"}, {"channel": "web"}]
    response = post(api, TOUCHPOINTS, {"touchpoints": batch})
    assert response.json()["errors"] == [
        {
            "index": 1,
            "errors": {
                "type": ["This field is required."],
                "customer": ["Give exactly one of customer_id, customer_external_id or customer_email."],
            },
        }
    ]


def test_only_purchases_and_returns_carry_an_amount_through_the_api_as_in_the_form(api):
    customer = CustomerFactory()
    response = post(api, TOUCHPOINTS, {"customer_id": customer.pk, "type": "pr", "amount": "100"})
    assert response.status_code == 400
    assert response.json() == {"amount": ["Only purchases and returns carry an amount."]}
    assert post(api, TOUCHPOINTS, {"customer_id": customer.pk, "type": "return", "amount": "100"}).status_code == 201
