import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import CustomerFactory, UserFactory, api_key_create, ticket_create, touchpoint_create
from touchpoints.funnel import funnel_report
from touchpoints.models import ApiKey, CustomerJourney, StageTransition, Touchpoint, TouchpointType
from touchpoints.services import api_key_authenticate

pytestmark = pytest.mark.django_db


def days_ago(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


# --- list -----------------------------------------------------------------------------------------


def test_touchpoint_list_filters_by_stage_type_channel_dates_and_recorder(support_client, support):
    alice = CustomerFactory(family_name="Alice")
    bob = CustomerFactory(family_name="Bob")
    touchpoint_create(alice, "brand-exposure", channel="advertising", occurred_at=days_ago(40), summary="ad-seen")
    touchpoint_create(alice, "research", channel="web", occurred_at=days_ago(5), summary="site-visit", by=support)
    touchpoint_create(bob, "transaction", channel="store", occurred_at=days_ago(1), summary="bought-it")
    url = reverse("touchpoints:list")

    def summaries(**params) -> set[str]:
        response = support_client.get(url, params)
        assert response.status_code == 200
        body = response.content.decode()
        return {s for s in ("ad-seen", "site-visit", "bought-it") if s in body}

    assert summaries() == {"ad-seen", "site-visit", "bought-it"}
    assert summaries(stage="consideration") == {"site-visit"}
    assert summaries(type=TouchpointType.objects.get(slug="transaction").pk) == {"bought-it"}
    assert summaries(channel="advertising") == {"ad-seen"}
    assert summaries(start=(timezone.localdate() - dt.timedelta(days=10)).isoformat()) == {"site-visit", "bought-it"}
    assert summaries(end=(timezone.localdate() - dt.timedelta(days=10)).isoformat()) == {"ad-seen"}
    assert summaries(recorded_by=str(support.pk)) == {"site-visit"}
    assert summaries(recorded_by="system") == {"ad-seen", "bought-it"}
    # unknown values are not passed to the database: the list is simply unfiltered
    assert summaries(stage="nirvana", channel="x", recorded_by="customer__password") == {
        "ad-seen",
        "site-visit",
        "bought-it",
    }


def test_the_list_filters_by_any_staff_member_and_by_api_key(manager_client, support):
    customer = CustomerFactory()
    shop, _raw = api_key_create(name="Online shop")
    pos, _raw = api_key_create(name="Till")
    touchpoint_create(customer, "research", summary="logged-by-staff", by=support)
    touchpoint_create(customer, "research", summary="from-the-shop", api_key=shop)
    touchpoint_create(customer, "research", summary="from-the-till", api_key=pos)
    url = reverse("touchpoints:list")

    def summaries(**params) -> set[str]:
        body = manager_client.get(url, params).content.decode()
        return {s for s in ("logged-by-staff", "from-the-shop", "from-the-till") if s in body}

    assert summaries(recorded_by="staff") == {"logged-by-staff"}
    assert summaries(recorded_by=f"key:{shop.pk}") == {"from-the-shop"}
    assert summaries(recorded_by="api") == {"from-the-shop", "from-the-till"}
    assert "API key “Till”" in manager_client.get(url).content.decode()


def test_a_bad_filter_value_drops_only_its_own_filter_and_says_so(support_client):
    customer = CustomerFactory()
    touchpoint_create(customer, "research", channel="web", occurred_at=days_ago(5), summary="site-visit")
    touchpoint_create(customer, "transaction", channel="store", occurred_at=days_ago(1), summary="bought-it")
    for bad in ({"start": "garbage"}, {"end": "9999-12-31"}, {"start": "0001-01-01"}):
        response = support_client.get(reverse("touchpoints:list"), {"stage": "decision", **bad})
        body = response.content.decode()
        assert response.status_code == 200
        assert "bought-it" in body and "site-visit" not in body
        assert "Some filters were not understood" in body and "Clear filters" in body


def test_touchpoint_list_pages_with_a_cursor(support_client, settings):
    settings.TSUNAGU_PAGE_SIZE = 2
    customer = CustomerFactory()
    for n in range(5):
        touchpoint_create(customer, "research", occurred_at=days_ago(n), summary=f"tp-{n}")
    response = support_client.get(reverse("touchpoints:list"))
    page = response.context["page"]
    assert [t.summary for t in page.rows] == ["tp-0", "tp-1"]
    response = support_client.get(reverse("touchpoints:list"), {"after": page.next_cursor})
    assert [t.summary for t in response.context["page"].rows] == ["tp-2", "tp-3"]


@pytest.mark.parametrize("n", [3, 60])
def test_touchpoint_list_query_count_does_not_grow(support_client, django_assert_max_num_queries, n):
    customers = CustomerFactory.create_batch(3)
    for i in range(n):
        touchpoint_create(customers[i % 3], "research", by=UserFactory(username=f"u{i % 4}"))
    with django_assert_max_num_queries(9):
        response = support_client.get(reverse("touchpoints:list"))
    assert response.status_code == 200


def test_customer_typed_text_is_escaped_in_the_list_and_the_timeline(support_client):
    customer = CustomerFactory(family_name="<script>alert(1)</script>")
    touchpoint_create(customer, "research", summary="<img src=x onerror=alert(1)>", campaign="<b>c</b>")
    # The customer page with its timeline in it (as without JavaScript; with it, htmx loads the same fragment).
    for url in (reverse("touchpoints:list"), customer.get_absolute_url() + "?timeline=1"):
        body = support_client.get(url).content.decode()
        assert "<img src=x" not in body and "<script>alert" not in body and "<b>c</b>" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


# --- quick log on the customer page ---------------------------------------------------------------


def test_customer_page_shows_the_quick_log_panel_and_the_journey(support_client):
    customer = CustomerFactory()
    touchpoint_create(customer, "transaction")
    body = support_client.get(customer.get_absolute_url()).content.decode()
    assert 'id="touchpoint-form"' in body
    assert 'id="journey-panel"' in body
    assert 'name="stage"' in body and 'name="channel"' in body  # timeline filters
    assert "Decision" in body


def test_quick_log_with_htmx_refreshes_the_form_and_panel_and_reloads_the_timeline(support_client, support):
    customer = CustomerFactory()
    research = TouchpointType.objects.get(slug="research")
    response = support_client.post(
        reverse("touchpoints:log", args=[customer.pk]),
        {"type": research.pk, "channel": "line", "direction": "inbound", "summary": "Asked about sizes on LINE"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timelineChanged"  # the timeline reloads its first page, filters and all
    body = response.content.decode()
    assert 'id="touchpoint-form-wrapper" hx-swap-oob="innerHTML"' in body and 'id="journey-panel"' in body
    touchpoint = Touchpoint.objects.get(customer=customer)
    assert (touchpoint.channel, touchpoint.recorded_by_user, touchpoint.source) == ("line", support, "staff")
    assert CustomerJourney.objects.get(customer=customer).stage == "consideration"
    timeline = support_client.get(reverse("customers:timeline", args=[customer.pk])).content.decode()
    assert "Asked about sizes on LINE" in timeline
    assert timeline.index('data-kind="transition"') < timeline.index('data-kind="touchpoint"')


def test_a_call_is_logged_afterwards_at_the_time_it_happened(support_client):
    customer = CustomerFactory()
    research = TouchpointType.objects.get(slug="research")
    url = reverse("touchpoints:log", args=[customer.pk])
    yesterday = timezone.localtime() - dt.timedelta(days=1)
    data = {"type": research.pk, "channel": "phone", "direction": "inbound"}
    response = support_client.post(url, {**data, "occurred_at": yesterday.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    assert Touchpoint.objects.get().occurred_at == yesterday.replace(second=0, microsecond=0)
    # a time to come, or before 1970, is refused and what was typed comes back
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for when, message in ((tomorrow, "cannot happen in the future"), ("1960-01-01T10:00", "too far in the past")):
        response = support_client.post(url, {**data, "occurred_at": when}, headers={"HX-Request": "true"})
        body = response.content.decode()
        assert message in body and f'value="{when}"' in body
    assert Touchpoint.objects.count() == 1


def test_quick_log_errors_come_back_in_the_form(support_client):
    customer = CustomerFactory()
    research = TouchpointType.objects.get(slug="research")
    response = support_client.post(
        reverse("touchpoints:log", args=[customer.pk]),
        {"type": research.pk, "channel": "line", "direction": "inbound", "amount": "100"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#touchpoint-form-wrapper"
    assert "Only purchases and returns carry an amount." in response.content.decode()
    assert not Touchpoint.objects.exists()


def test_quick_log_without_htmx_redirects_to_the_customer(support_client):
    customer = CustomerFactory()
    transaction = TouchpointType.objects.get(slug="transaction")
    response = support_client.post(
        reverse("touchpoints:log", args=[customer.pk]),
        {"type": transaction.pk, "channel": "store", "direction": "inbound", "amount": "12800"},
    )
    assert response.status_code == 302
    assert Touchpoint.objects.get().amount == 12800


def test_timeline_filters_by_stage_and_channel(support_client):
    customer = CustomerFactory()
    touchpoint_create(customer, "brand-exposure", channel="advertising", summary="saw-an-ad", occurred_at=days_ago(3))
    touchpoint_create(customer, "research", channel="web", summary="read-the-blog", occurred_at=days_ago(2))
    url = reverse("customers:timeline", args=[customer.pk])
    body = support_client.get(url, {"stage": "consideration"}).content.decode()
    assert "read-the-blog" in body and "saw-an-ad" not in body
    body = support_client.get(url, {"channel": "advertising"}).content.decode()
    assert "saw-an-ad" in body and "read-the-blog" not in body


def test_timeline_filters_hide_the_entries_they_cannot_apply_to(support_client, support):
    from customers.services import note_create

    customer = CustomerFactory()
    touchpoint_create(customer, "research", channel="web", summary="read-the-blog", occurred_at=days_ago(2))
    ticket_create(customer, subject="asked-on-line", channel="line")
    ticket_create(customer, subject="asked-on-the-form", channel="web_form")
    note_create(customer=customer, body="a-note", author=support)
    url = reverse("customers:timeline", args=[customer.pk])

    def shown(**params) -> set[str]:
        body = support_client.get(url, params).content.decode()
        return {s for s in ("read-the-blog", "asked-on-line", "asked-on-the-form", "a-note") if s in body}

    assert shown() == {"read-the-blog", "asked-on-line", "asked-on-the-form", "a-note"}
    assert shown(channel="web") == {"read-the-blog", "asked-on-the-form"}  # tickets follow the channel they came in on
    assert shown(channel="line") == {"asked-on-line"}
    assert shown(stage="consideration") == {"read-the-blog"}  # notes and tickets have no stage
    assert shown(channel="sms") == set()


# --- manual stage move ----------------------------------------------------------------------------


def test_marketing_moves_a_customer_by_hand(marketing_client, marketing):
    customer = CustomerFactory()
    touchpoint_create(customer, "transaction")
    response = marketing_client.post(
        reverse("touchpoints:journey_move", args=[customer.pk]), {"to_stage": "awareness", "reason": "Refunded"}
    )
    assert response.status_code == 302
    transition = StageTransition.objects.get(is_manual=True)
    assert (transition.to_stage, transition.reason, transition.by) == ("awareness", "Refunded", marketing)


def test_a_refused_move_keeps_the_reason_typed_and_a_move_reloads_the_timeline(marketing_client):
    customer = CustomerFactory()
    touchpoint_create(customer, "transaction")
    url = reverse("touchpoints:journey_move", args=[customer.pk])
    htmx = {"HX-Request": "true"}
    response = marketing_client.post(url, {"to_stage": "decision", "reason": "Asked twice"}, headers=htmx)
    body = response.content.decode()
    assert "already in this stage" in body and 'value="Asked twice"' in body and "<details open>" in body
    assert "HX-Trigger" not in response
    response = marketing_client.post(url, {"to_stage": "awareness", "reason": "Refunded"}, headers=htmx)
    assert response["HX-Trigger"] == "timelineChanged" and 'id="journey-panel"' in response.content.decode()
    assert CustomerJourney.objects.get(customer=customer).stage == "awareness"


def test_support_cannot_move_a_customer(support_client):
    customer = CustomerFactory()
    response = support_client.post(
        reverse("touchpoints:journey_move", args=[customer.pk]), {"to_stage": "awareness", "reason": "x"}
    )
    assert response.status_code == 403


# --- funnel ---------------------------------------------------------------------------------------


@pytest.fixture
def funnel_data():
    """Five customers over the last 30 days (see each line); figures computed by hand in the tests below."""
    a = CustomerFactory(source="web")
    touchpoint_create(a, "brand-exposure", channel="advertising", occurred_at=days_ago(20))
    touchpoint_create(a, "research", channel="web", occurred_at=days_ago(15))
    touchpoint_create(a, "transaction", channel="store", occurred_at=days_ago(5))
    b = CustomerFactory(source="web")
    touchpoint_create(b, "brand-exposure", channel="advertising", occurred_at=days_ago(18))
    touchpoint_create(b, "research", channel="web", occurred_at=days_ago(8))
    c = CustomerFactory(source="store")  # straight to decision: passes awareness and consideration
    touchpoint_create(c, "transaction", channel="store", occurred_at=days_ago(10))
    d = CustomerFactory(source="referral")  # aware before the period, considers in it
    touchpoint_create(d, "brand-exposure", channel="advertising", occurred_at=days_ago(60))
    touchpoint_create(d, "research", channel="web", occurred_at=days_ago(3))
    e = CustomerFactory(source="web")
    touchpoint_create(e, "brand-exposure", channel="advertising", occurred_at=days_ago(2))
    return timezone.localdate() - dt.timedelta(days=29), timezone.localdate()


def _figures(group):
    return [(s.stage, s.reached, s.conversion_percent, s.median_days) for s in group.stages]


def test_funnel_figures_on_a_hand_computed_dataset(funnel_data):
    start, end = funnel_data
    report = funnel_report(start=start, end=end)
    # awareness: a, b, c, e (d became aware before the period); consideration: a, b, c, d; decision: a, c.
    # awareness → consideration: a, b, c of the 4; consideration → decision: a, c of the 4.
    # days in awareness: a 5, b 10 (e still there) → 7.5; in consideration: a 10 (b, d still there).
    assert _figures(report.overall) == [
        ("awareness", 4, 75.0, 7.5),
        ("consideration", 4, 50.0, 10.0),
        ("decision", 2, 0.0, None),
        ("retention", 0, None, None),
    ]
    by_source = {g.key: [s.reached for s in g.stages] for g in report.by_source}
    assert by_source == {"web": [3, 2, 1, 0], "store": [1, 1, 1, 0], "referral": [0, 1, 0, 0]}
    by_channel = {g.key: [s.reached for s in g.stages] for g in report.by_channel}
    assert by_channel == {"advertising": [3, 0, 0, 0], "web": [0, 3, 0, 0], "store": [1, 1, 2, 0]}


def test_funnel_counts_manual_moves_apart(funnel_data):
    start, end = funnel_data
    customer = CustomerFactory(source="event")
    from touchpoints.services import journey_stage_move

    journey_stage_move(customer=customer, to_stage="retention", reason="Long-time customer, new record", by=None)
    report = funnel_report(start=start, end=end)
    manual = next(g for g in report.by_channel if g.key == "")
    assert [s.reached for s in manual.stages] == [1, 1, 1, 1]
    assert report.overall.stages[3].reached == 1


def test_funnel_page_shows_the_table_and_the_chart_data(marketing_client, funnel_data, django_assert_max_num_queries):
    start, end = funnel_data
    with django_assert_max_num_queries(10):
        response = marketing_client.get(reverse("touchpoints:funnel"), {"start": start, "end": end})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="funnel-data"' in body
    assert "<script>" not in body  # no inline script: every <script> has a src or is JSON data
    data = json.loads(body.split('id="funnel-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert data["reached"] == [4, 4, 2, 0]
    assert data["conversion"] == [75.0, 50.0, 0.0, None]
    assert "funnel.js" in body and "chart.umd.min.js" in body


def test_funnel_ignores_a_bad_period(marketing_client):
    response = marketing_client.get(reverse("touchpoints:funnel"), {"start": "yesterday", "end": "2020-13-01"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("start", "end"),
    [("0001-01-01", "9999-12-31"), ("0001-01-01", "9999-12-30"), ("2026-03-01", "2026-02-01")],
)
def test_funnel_refuses_a_period_out_of_range_or_backwards_and_keeps_what_was_typed(marketing_client, start, end):
    response = marketing_client.get(reverse("touchpoints:funnel"), {"start": start, "end": end})
    body = response.content.decode()
    assert response.status_code == 200 and "alert-warning" in body
    assert f'value="{start}"' in body and f'value="{end}"' in body


# --- catalogue and API keys -----------------------------------------------------------------------


def test_the_catalogue_shows_seeded_names_and_descriptions_in_japanese(marketing_client):
    body = marketing_client.get(reverse("touchpoints:types"), headers={"Accept-Language": "ja"}).content.decode()
    assert "広告、インフルエンサー、検索結果" in body and "Ads, influencers, search results" not in body


def test_marketing_edits_the_catalogue_but_not_slugs(marketing_client):
    response = marketing_client.post(
        reverse("touchpoints:type_create"),
        {"slug": "store-visit", "name": "Store visit", "stage": "consideration", "kind": "interaction", "position": 5},
    )
    assert response.status_code == 302
    visit = TouchpointType.objects.get(slug="store-visit")
    response = marketing_client.post(
        reverse("touchpoints:type_update", args=[visit.pk]),
        {"slug": "renamed", "name": "Shop visit", "stage": "consideration", "kind": "interaction", "position": 5},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.slug, visit.name, visit.is_active) == ("store-visit", "Shop visit", False)
    response = marketing_client.post(
        reverse("touchpoints:type_create"),
        {"slug": "store-visit", "name": "Again", "stage": "awareness", "kind": "interaction", "position": 1},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_manager_creates_a_key_shown_once_and_revokes_it(manager_client, manager):
    response = manager_client.post(reverse("touchpoints:api_keys"), {"name": "Online shop", "scopes": ["ingest"]})
    assert response.status_code == 200
    raw = response.context["new_key"]
    assert raw.startswith("tsu_") and raw in response.content.decode()
    assert "Authorization: Bearer &lt;key&gt;" in response.content.decode()  # shown, not parsed as a tag
    api_key = ApiKey.objects.get()
    assert api_key.scopes == ["ingest"]
    assert "Ingest (record touchpoints" in response.content.decode()  # the keys page shows each key's scopes
    assert api_key.key_hash != raw and raw not in (api_key.prefix, api_key.key_hash)
    assert api_key_authenticate(raw) == api_key
    assert raw not in manager_client.get(reverse("touchpoints:api_keys")).content.decode()
    response = manager_client.post(reverse("touchpoints:api_key_revoke", args=[api_key.pk]))
    assert response.status_code == 302
    assert api_key_authenticate(raw) is None


def test_create_api_key_command_prints_the_key_once(capsys):
    from django.core.management import call_command

    call_command("create_api_key", "POS", "--scope", "ingest", "--scope", "read")
    out = capsys.readouterr()
    raw = out.out.strip()
    assert api_key_authenticate(raw).name == "POS"
    assert api_key_authenticate(raw).scopes == ["read", "ingest"]
    assert raw not in out.err
    call_command("create_api_key", "Back office", "--scope", "all")
    every = ["read", "ingest", "customers:write", "loyalty", "tickets:verified"]  # "all" is every scope
    assert api_key_authenticate(capsys.readouterr().out.strip()).scopes == every


def test_a_key_needs_a_scope(manager_client):
    response = manager_client.post(reverse("touchpoints:api_keys"), {"name": "Online shop"})
    assert response.status_code == 200 and not response.context["new_key"]
    assert response.context["form"].errors["scopes"]
    assert not ApiKey.objects.exists()


def test_api_docs_page_loads_nothing_from_a_cdn(manager_client):
    api_key_create()
    response = manager_client.get(reverse("api_docs"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui-bundle.js" in body
    assert "http://" not in body and "https://" not in body and "<script>" not in body
    schema = manager_client.get(reverse("api_schema"))
    assert schema.status_code == 200
    assert b"/api/v1/touchpoints/" in schema.content


def test_quick_log_type_menu_is_cached_and_renamed_types_show_at_once(
    support_client, django_capture_on_commit_callbacks
):
    from touchpoints.services import touchpoint_type_save

    customer = CustomerFactory(family_name="Menu")
    url = customer.get_absolute_url()
    support_client.get(url)  # fills the menu cache
    kind = TouchpointType.objects.get(slug="research")

    # when: marketing renames a type (the service clears the cached menu after commit)
    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_type_save(touchpoint_type=kind, data={"name": "Website research"})

    # then
    assert "Website research" in support_client.get(url).content.decode()
