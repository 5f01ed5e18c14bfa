"""One walk over every insights URL with every role (RELIABILITY.md: checks on view but not on download), and
what each role sees on the dashboard: support its service figures, marketing the customers and loyalty, managers
everything, the revenue and the exports included."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.insights import metrics
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["Support", "Marketing", "Manager", None]
EVERYONE = {"Support", "Marketing", "Manager"}
CUSTOMER_FIGURES = {"Marketing", "Manager"}
MANAGERS = {"Manager"}


def _drillable(section: str) -> str:
    return next(f.key for f in metrics.FIGURES if f.section == section and f.drill)


def _period() -> str:
    period = metrics.Period.last_days(30)
    return f"?start={period.start}&end={period.end}"


def urls() -> dict[str, tuple[str, set]]:
    """name: (url, roles allowed). Allowed answers are 200; others 403."""
    overview, customers = _drillable("overview"), _drillable("customers")
    return {
        "dashboard": (reverse("home"), EVERYONE),
        "about": (reverse("insights:about"), EVERYONE),
        "cohorts": (reverse("insights:cohorts"), CUSTOMER_FIGURES),
        "funnel card": (reverse("insights:funnel_card") + _period(), CUSTOMER_FIGURES),
        "overview drill-down": (reverse("insights:figure_customers", args=[overview]) + _period(), EVERYONE),
        "customers drill-down": (reverse("insights:figure_customers", args=[customers]) + _period(), CUSTOMER_FIGURES),
        "dashboard csv": (reverse("insights:dashboard_export") + _period(), MANAGERS),
        "cohorts csv": (reverse("insights:cohorts_export"), MANAGERS),
        "drill-down csv": (reverse("insights:figure_customers_export", args=[overview]) + _period(), MANAGERS),
    }


def test_anonymous_visitors_are_sent_to_log_in_from_every_insights_page(client):
    for name, (url, _allowed) in urls().items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


@pytest.mark.parametrize("role", ROLES)
def test_every_insights_url_with_every_role(client, role):
    CustomerFactory()
    client.force_login(UserFactory(username=f"user-{role}", role=role))
    for name, (url, allowed) in urls().items():
        response = client.get(url)
        if name == "dashboard" and role is None:
            # the home page stays the landing page after logging in: it greets, and shows no figure
            assert response.status_code == 200
            assert not response.context["board"]
            continue
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, (name, role, response.status_code)


def test_each_figures_drill_down_follows_its_sections_permission(client):
    for role in ("Support", "Marketing", "Manager"):
        user = UserFactory(username=f"drill-{role}", role=role)
        client.force_login(user)
        for figure in metrics.FIGURES:
            if not figure.drill:
                continue
            response = client.get(reverse("insights:figure_customers", args=[figure.key]) + _period())
            allowed = user.has_perm(metrics.SECTION_PERMISSIONS[figure.section])
            assert response.status_code == (200 if allowed else 403), (role, figure.key)


def test_unknown_figures_and_figures_without_drill_down_are_not_found(manager_client):
    assert manager_client.get(reverse("insights:figure_customers", args=["no_such_figure"])).status_code == 404
    assert manager_client.get(reverse("insights:figure_customers_export", args=["no_such_figure"])).status_code == 404
    flat = next((f.key for f in metrics.FIGURES if not f.drill), None)
    if flat:
        assert manager_client.get(reverse("insights:figure_customers", args=[flat])).status_code == 404


def _cards(response) -> set[str]:
    return {key for section in response.context["sections"] for key in (f.definition.key for f in section["figures"])}


def _keys(*sections: str) -> set[str]:
    return {f.key for f in metrics.FIGURES if f.section in sections}


def test_support_sees_the_service_and_overview_figures_and_nothing_to_export(support_client):
    response = support_client.get(reverse("home"))
    body = response.content.decode()
    assert _cards(response) == _keys("overview", "service")
    for key in _keys("revenue", "customers", "loyalty"):
        assert f'id="figure-{key}"' not in body
    assert reverse("insights:dashboard_export") not in body and ".csv" not in body
    assert reverse("insights:cohorts") not in body and reverse("insights:funnel_card") not in body
    assert 'id="nav-insights"' in body


def test_marketing_sees_customers_and_loyalty_but_no_revenue(marketing_client):
    response = marketing_client.get(reverse("home"))
    body = response.content.decode()
    assert _cards(response) == _keys("overview", "customers", "loyalty")
    for key in _keys("revenue", "service"):
        assert f'id="figure-{key}"' not in body
    assert reverse("insights:dashboard_export") not in body
    assert reverse("insights:cohorts") in body and reverse("insights:funnel_card") in body
    assert "chart-revenue" not in body


def test_managers_see_every_figure_and_the_exports(manager_client):
    response = manager_client.get(reverse("home"))
    body = response.content.decode()
    assert _cards(response) == {f.key for f in metrics.FIGURES}
    assert reverse("insights:dashboard_export") in body
    cohorts = manager_client.get(reverse("insights:cohorts")).content.decode()
    assert reverse("insights:cohorts_export") in cohorts


def test_the_dashboard_csv_leaves_out_revenue_for_a_manager_without_view_revenue(client):
    from django.contrib.auth.models import Permission

    user = UserFactory(username="exports-only", role="Marketing")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="insights", codename="export_reports"))
    client.force_login(user)
    response = client.get(reverse("insights:dashboard_export"))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    keys = {line.split(",")[1] for line in text.splitlines()[1:]}
    assert keys == _keys("overview", "customers", "loyalty")
    assert not keys & _keys("revenue")


def test_the_insights_menu_follows_the_roles(client):
    client.force_login(UserFactory(username="s", role="Support"))
    body = client.get(reverse("insights:about")).content.decode()
    assert 'id="nav-insights"' in body and reverse("insights:cohorts") not in body
    client.force_login(UserFactory(username="m", role="Marketing"))
    body = client.get(reverse("insights:about")).content.decode()
    assert reverse("insights:cohorts") in body and reverse("insights:about") in body
    client.force_login(UserFactory(username="nobody", role=None))
    assert 'id="nav-insights"' not in client.get(reverse("home")).content.decode()
