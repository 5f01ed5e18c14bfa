"""What each staff role may do with the insights, on a database migrated from scratch: the permissions moved with
the models from app label crm to insights, and no role holds a crm permission of a moved model any more."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from crm.insights.roles import INSIGHTS_PERMISSIONS

pytestmark = pytest.mark.django_db

# Recorded: the insights grants of each role (app_label.codename, sorted).
RECORDED = {
    "Manager": [
        "insights.export_reports",
        "insights.view_customer_figures",
        "insights.view_dashboard",
        "insights.view_revenue",
        "insights.view_service_figures",
    ],
    "Marketing": ["insights.view_customer_figures", "insights.view_dashboard"],
    "Support": ["insights.view_dashboard", "insights.view_service_figures"],
}
MOVED_MODELS = [
    "report",
    "customerscore",
    "dailyrollup",
    "rollupedge",
    "cohortcell",
    "customerrollupstate",
    "customerlapse",
    "rollupdirty",
    "rollupwatermark",
    "ticketresponse",
]


def granted(app_labels: tuple[str, ...]) -> dict[str, list[str]]:
    return {
        group.name: sorted(
            f"{app}.{codename}"
            for app, codename in group.permissions.filter(content_type__app_label__in=app_labels).values_list(
                "content_type__app_label", "codename"
            )
        )
        for group in Group.objects.order_by("name")
    }


def test_each_role_holds_the_recorded_insights_permissions_on_a_fresh_database():
    assert granted(("insights",)) == RECORDED
    assert {role: sorted(perms) for role, perms in INSIGHTS_PERMISSIONS.items()} == RECORDED


def test_no_role_and_no_permission_is_left_under_crm_for_the_moved_models():
    assert granted(("crm",)) == {"Manager": [], "Marketing": [], "Support": []}
    assert not Permission.objects.filter(content_type__app_label="crm", content_type__model__in=MOVED_MODELS).exists()


def test_each_report_permission_exists_once():
    codenames = [codename.split(".")[1] for codename in RECORDED["Manager"]]
    rows = Permission.objects.filter(codename__in=codenames)
    assert sorted(rows.values_list("codename", flat=True)) == sorted(codenames)
    assert set(rows.values_list("content_type__app_label", flat=True)) == {"insights"}


def test_the_roles_are_checked_by_their_new_names(manager, support):
    assert manager.has_perm("insights.export_reports") and not manager.has_perm(".".join(["crm", "export_reports"]))
    assert support.has_perm("insights.view_service_figures") and not support.has_perm("insights.view_revenue")
