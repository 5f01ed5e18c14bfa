"""Logging a touchpoint on a customer, in a real headless Chromium: the timeline and the funnel show it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.helpers import grant, log_in, touchpoint_catalogue
from tests.factories import CustomerFactory, UserFactory
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.e2e

PAYLOAD = "<img src=x onerror=alert(1)>"


@pytest.fixture
def journey_roles(staff_roles):
    """The journey's permissions and catalogue, which transactional tests flush after the migrations made them."""

    from touchpoints.roles import JOURNEY_PERMISSIONS

    grant(JOURNEY_PERMISSIONS)
    touchpoint_catalogue()
    return JOURNEY_PERMISSIONS


@pytest.fixture
def manager_user(journey_roles):
    return UserFactory(username="manager-e2e", first_name="Mariko", last_name="Manager", role="Manager")


def test_manager_logs_a_purchase_and_sees_it_on_the_timeline_and_in_the_funnel(
    page, live_server, manager_user, problems
):
    # given: a customer with no journey yet, and a manager logged in
    customer = CustomerFactory(family_name="Sato", given_name="Kenji", source="store")
    log_in(page, live_server, "manager-e2e")

    # when: they open the customer and log a purchase in the store with the quick form
    page.goto(live_server.url + customer.get_absolute_url())
    expect(page.locator("#journey-panel")).to_contain_text("Not in the journey yet")
    page.evaluate("window.__samePage = true")
    form = page.locator("#touchpoint-form")
    form.get_by_label("What happened").select_option(label="Transaction (Decision)")
    form.get_by_label("Channel").select_option(label="Store")
    form.get_by_label("Amount (yen)").fill("12800")
    form.get_by_label("Summary").fill(f"Bought a kettle {PAYLOAD}")
    form.get_by_role("button", name="Log touchpoint").click()

    # then: the purchase and the stage change top the timeline without a page load, shown as typed
    timeline = page.locator("#timeline")
    expect(timeline.locator(".timeline-item").first).to_contain_text("Entered the journey at Decision")
    touchpoint_item = timeline.locator(".timeline-item[data-kind='touchpoint']").first
    expect(touchpoint_item).to_contain_text(f"Bought a kettle {PAYLOAD}")
    expect(touchpoint_item).to_contain_text("¥12,800")
    expect(page.locator("#journey-stage")).to_have_text("Decision")
    expect(page.locator("#touchpoint-form textarea")).to_have_value("")
    assert page.evaluate("window.__samePage === true")
    assert page.locator("main img[src='x']").count() == 0
    assert Touchpoint.objects.get(customer=customer).recorded_by_user == manager_user

    # when: they log a LINE chat after it
    form.get_by_label("What happened").select_option(label="Customer research (Consideration)")
    form.get_by_label("Channel").select_option(label="LINE")
    form.get_by_label("Summary").fill("Asked on LINE about the lid")
    form.get_by_role("button", name="Log touchpoint").click()

    # then: it tops the timeline, and the customer stays in decision (never moved back automatically)
    expect(timeline.locator(".timeline-item").first).to_contain_text("Asked on LINE about the lid")
    expect(page.locator("#journey-stage")).to_have_text("Decision")

    # when: they log a call from yesterday afterwards, with its time
    yesterday = timezone.localtime() - dt.timedelta(days=1)
    form.get_by_label("What happened").select_option(label="Customer support (Decision)")
    form.get_by_label("Channel").select_option(label="Phone")
    form.get_by_label("When").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Summary").fill("Called yesterday about delivery")
    form.get_by_role("button", name="Log touchpoint").click()

    # then: the timeline reloads with the call in its place, below today's entries
    expect(timeline.locator(".timeline-item", has_text="Called yesterday about delivery")).to_have_count(1)
    texts = timeline.locator(".timeline-item").all_inner_texts()
    called = next(i for i, text in enumerate(texts) if "Called yesterday" in text)
    assert called > next(i for i, text in enumerate(texts) if "Asked on LINE" in text)
    expect(page.locator("#touchpoint-form input[name='occurred_at']")).to_have_value("")

    # when: they filter the timeline to the decision stage and to the LINE channel
    page.locator("#timeline-stage").select_option("decision")
    expect(timeline).to_contain_text("Bought a kettle")
    expect(timeline).not_to_contain_text("Asked on LINE")
    page.locator("#timeline-stage").select_option("")
    page.locator("#timeline-channel").select_option("line")
    expect(timeline).not_to_contain_text("Bought a kettle")
    expect(timeline).to_contain_text("Asked on LINE about the lid")

    # when: they open the funnel from the Journey menu
    page.get_by_role("button", name="Journey").click()
    page.get_by_role("link", name="Funnel").click()

    # then: the customer counts in decision, and the chart is drawn from the page's JSON data
    overall = page.locator("#funnel-overall")
    expect(overall.locator("tr[data-stage='decision'] [data-col='reached']")).to_have_text("1")
    expect(overall.locator("tr[data-stage='awareness'] [data-col='reached']")).to_have_text("1")
    expect(page.locator("#funnel-source-store")).to_be_visible()
    expect(page.locator("#funnel-chart")).to_have_attribute("data-ready", "true")

    # and: the touchpoint list shows it too
    page.goto(live_server.url + reverse("touchpoints:list") + "?stage=decision")
    expect(page.locator("#touchpoint-table")).to_contain_text("Kenji Sato")

    # and: nothing was blocked by the Content-Security-Policy, and no script failed
    assert problems == []


def test_api_docs_render_from_our_own_static_files(page, live_server, manager_user, problems):
    # given: a manager logged in
    log_in(page, live_server, "manager-e2e")
    external: list[str] = []
    page.on(
        "request", lambda request: external.append(request.url) if not request.url.startswith(live_server.url) else None
    )

    # when: they open the API documentation
    page.goto(live_server.url + reverse("api_docs"))

    # then: Swagger UI shows the schema's endpoints, with nothing fetched from elsewhere
    expect(page.get_by_text("/api/v1/touchpoints/").first).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tsunagu API")
    assert external == []
    assert problems == []


def test_show_older_keeps_the_timeline_filters(page, live_server, manager_user, problems):
    # given: a customer with 30 web visits and, before them, 5 ads
    import datetime as dt

    from django.utils import timezone

    from tests.factories import touchpoint_create

    customer = CustomerFactory(family_name="Ito")
    start = timezone.now() - dt.timedelta(days=60)
    for i in range(5):
        touchpoint_create(customer, "brand-exposure", channel="advertising", occurred_at=start + dt.timedelta(hours=i))
    for i in range(30):
        touchpoint_create(
            customer, "research", channel="web", occurred_at=start + dt.timedelta(days=1, hours=i), summary=f"visit {i}"
        )
    log_in(page, live_server, "manager-e2e")
    with page.expect_response(lambda r: "/timeline/" in r.url):  # the timeline loads after the page
        page.goto(live_server.url + customer.get_absolute_url())

    # when: they show web touchpoints only, then older ones
    with page.expect_response(lambda r: "/timeline/" in r.url and "channel=web" in r.url):
        page.locator("#timeline-channel").select_option("web")
    timeline = page.locator("#timeline")
    expect(timeline.locator(".timeline-item")).to_have_count(25)
    with page.expect_response(lambda r: "/timeline/" in r.url and "channel=web" in r.url):
        page.get_by_role("button", name="Show older").click()

    # then: the older page holds the remaining web visits and no ad
    expect(timeline).to_contain_text("visit 0")
    expect(timeline.locator(".timeline-item[data-kind='touchpoint']")).to_have_count(30)
    expect(timeline).not_to_contain_text("Advertising")
    assert problems == []
