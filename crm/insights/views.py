"""The staff home (the insights dashboard), the cohort table, the customers behind a figure, the page that explains
the figures, and their CSV exports. Thin: the figures come from crm/insights/metrics/."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from customers.pagination import Ordering, keyset_page
from customers.reads import customers_exported_announce
from customers.rows import customer_rows_html
from touchpoints.funnel import funnel_report

from . import exports, metrics, rollups
from .forms import CohortForm, PeriodForm
from .models import RollupWatermark

SERIES_TITLES = {
    "activity": _("New customers and touchpoints"),
    "revenue": _("Revenue"),
    "nps_csat": _("NPS and CSAT"),
    "points": _("Points issued and redeemed"),
}
DATASET_LABELS = {
    "new_customers": _("New customers"),
    "touchpoints": _("Touchpoints"),
    "revenue": _("Revenue (¥)"),
    "orders": _("Orders"),
    "nps": _("NPS"),
    "csat": _("CSAT (%)"),
    "issued": _("Points issued"),
    "redeemed": _("Points redeemed"),
}
# Datasets drawn against a second axis, on the right: counts of another size than the chart's first dataset.
SECONDARY_DATASETS = {("activity", "touchpoints"), ("revenue", "orders")}
DRILL_ORDERING = Ordering("id", descending=True)  # customers_behind() orders by -id


def _refreshed_at():
    """When the rollups behind the figures were last brought up to date (None before the first refresh)."""
    return RollupWatermark.objects.values_list("refreshed_at", flat=True).first()


def _sections(board: metrics.Dashboard, allowed: list[str]) -> list[dict]:
    """The figures of each section the user may see, in the registry's order."""
    sections = []
    for section in allowed:
        figures = [board.figures[f.key] for f in metrics.FIGURES if f.section == section and f.key in board.figures]
        if figures:
            sections.append({"key": section, "label": metrics.SECTION_LABELS.get(section, section), "figures": figures})
    return sections


def _charts(board: metrics.Dashboard) -> list[dict]:
    """Every chart of the dashboard: its title, labels and datasets (drawn by static/crm/js/dashboard.js and
    written out in a table below it)."""
    charts = []
    for key, series in board.series.items():
        datasets = [
            {
                "key": name,
                "label": str(DATASET_LABELS.get(name, name.replace("_", " "))),
                "data": list(values),
                "secondary": (key, name) in SECONDARY_DATASETS,
            }
            for name, values in series.datasets.items()
        ]
        charts.append(
            {
                "id": f"chart-{key}",
                "key": key,
                "title": str(SERIES_TITLES.get(key, key)),
                "type": "line" if key in ("activity", "nps_csat", "points") else "bar",
                "labels": [str(label) for label in series.labels],
                "datasets": datasets,
            }
        )
    if board.tiers:
        charts.append(
            {
                "id": "chart-tiers",
                "key": "tiers",
                "title": str(_("Members by tier")),
                "type": "doughnut",
                "labels": [str(name) for name, _n in board.tiers],
                "datasets": [{"key": "members", "label": str(_("Members")), "data": [n for _name, n in board.tiers]}],
            }
        )
    return charts


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _table_body(chart: dict) -> str:
    """The chart's numbers as table rows (one per label, one column per dataset), escaped by format_html: a long
    period has hundreds of cells, which the template language would take most of the page's time to write."""
    return format_html_join(
        "\n",
        '<tr><th scope="row" class="fw-normal">{}</th>{}</tr>',
        (
            (
                label,
                format_html_join(
                    "", '<td class="text-end">{}</td>', ((_cell(d["data"][i]),) for d in chart["datasets"])
                ),
            )
            for i, label in enumerate(chart["labels"])
        ),
    )


def _period_query(period: metrics.Period) -> str:
    return f"start={period.start.isoformat()}&end={period.end.isoformat()}"


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard: the period's figures against the previous period's, for the sections the user may see."""
    if not request.user.has_perm("insights.view_dashboard"):
        return render(request, "home.html", {"board": None})
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, today=today)
    period = form.period()
    allowed = metrics.sections_for(request.user)
    board = metrics.dashboard(period, sections=allowed, today=today, cached=True)
    charts = _charts(board)
    for chart in charts:
        chart["body"] = _table_body(chart)
    context = {
        "board": board,
        "form": form,
        "selected": form.selected(),
        "period": period,
        "period_query": _period_query(period),
        "sections": _sections(board, allowed),
        "charts": charts,
        "chart_data": [{k: c[k] for k in ("id", "type", "labels", "datasets")} for c in charts],
        "show_funnel": "customers" in allowed,
        "contact_list_url": reverse("insights_scoring:contact_list") if "customers" in allowed else "",
        "refreshed_at": board.refreshed_at,
        "can_export": request.user.has_perm("insights.export_reports"),
    }
    return render(request, "home.html", context)


@login_required
@permission_required("insights.view_customer_figures", raise_exception=True)
@require_GET
def funnel_card(request: HttpRequest) -> HttpResponse:
    """The journey funnel of the dashboard's period, fetched by the dashboard after it is shown (htmx), so the
    figures appear at once whatever the funnel costs."""
    form = PeriodForm(request.GET or None)
    period = form.period()
    report = funnel_report(start=period.start, end=period.end)
    return render(
        request,
        "insights/includes/_funnel_card.html",
        {"funnel": report, "chart_data": report.chart_data(), "period": period},
    )


@login_required
@permission_required("insights.view_customer_figures", raise_exception=True)
@require_GET
def cohort_table(request: HttpRequest) -> HttpResponse:
    form = CohortForm(request.GET or None)
    end = form.end_month()
    cohorts = metrics.cohorts(end=end, months=12)
    offsets = list(range(len(cohorts.rows[0].counts))) if cohorts.rows else list(range(12))
    chart = {
        "id": "chart-cohorts",
        "type": "line",
        "labels": [str(_("Month %(n)s") % {"n": n}) for n in offsets],
        "datasets": [
            {
                "key": row.month.strftime("%Y-%m"),
                "label": row.month.strftime("%Y-%m"),
                "data": list(row.shares),
            }
            for row in cohorts.rows
            if row.size
        ],
    }
    return render(
        request,
        "insights/cohorts.html",
        {
            "form": form,
            "end": end,
            "cohorts": cohorts,
            "offsets": offsets,
            "chart_data": [chart],
            "can_export": request.user.has_perm("insights.export_reports"),
        },
    )


def _drillable(request: HttpRequest, key: str) -> metrics.FigureDef:
    """The figure, if it exists, has a drill-down, and the user may see its section."""
    figure = metrics.FIGURES_BY_KEY.get(key)
    if figure is None or not figure.drill:
        raise Http404
    if not request.user.has_perm(metrics.SECTION_PERMISSIONS[figure.section]):
        raise PermissionDenied
    return figure


@login_required
@require_GET
def figure_customers(request: HttpRequest, key: str) -> HttpResponse:
    """The customers behind a figure of a period, newest first, a keyset page at a time."""
    from .drill_actions import drill_action_forms  # it imports this module's helpers

    figure = _drillable(request, key)
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, today=today)
    period = form.period()
    queryset = metrics.customers_behind(key, period, today=today)
    page = keyset_page(
        queryset.for_list(),
        DRILL_ORDERING,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    # What each customer counts for (their score, their spend), for the figures where that means something.
    value = metrics.figure_values(key, period, [c.pk for c in page.rows])
    value_label, values = value if value else ("", None)
    return render(
        request,
        "insights/figure_customers.html",
        {
            "figure": figure,
            "form": form,
            "period": period,
            "page": page,
            "value_label": value_label,
            "customer_rows": customer_rows_html(page.rows, values=values),
            "query": _period_query(period),
            "can_export": request.user.has_perm("insights.export_reports")
            and request.user.has_perm("customers.export_customer"),
            **drill_action_forms(request, figure, period),
        },
    )


@login_required
@permission_required("insights.view_dashboard", raise_exception=True)
@require_GET
def about(request: HttpRequest) -> HttpResponse:
    """What every figure means, grouped by section, with the lapse rule and how fresh the figures are."""
    sections = [
        {"key": key, "label": label, "figures": [f for f in metrics.FIGURES if f.section == key]}
        for key, label in metrics.SECTION_LABELS.items()
    ]
    return render(
        request,
        "insights/about.html",
        {
            "sections": [s for s in sections if s["figures"]],
            "lapse_days": rollups.lapse_days(),
            "refresh_minutes": max(1, round(getattr(settings, "TSUNAGU_ROLLUP_SECONDS", 300) / 60)),
            "refreshed_at": _refreshed_at(),
        },
    )


# --- CSV exports (managers) -----------------------------------------------------------------------


@login_required
@permission_required("insights.export_reports", raise_exception=True)
@require_GET
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures for the period (only the sections the user may see: revenue needs view_revenue)."""
    today = timezone.localdate()
    period = PeriodForm(request.GET or None, today=today).period()
    board = metrics.dashboard(period, sections=metrics.sections_for(request.user), today=today)
    return exports.csv_response(exports.dashboard_rows(board), stem=f"dashboard-{period.start}-{period.end}")


@login_required
@permission_required("insights.export_reports", raise_exception=True)
@permission_required("insights.view_customer_figures", raise_exception=True)
@require_GET
def cohort_export(request: HttpRequest) -> HttpResponse:
    end = CohortForm(request.GET or None).end_month()
    cohorts = metrics.cohorts(end=end, months=12)
    return exports.csv_response(exports.cohort_rows(cohorts), stem=f"cohorts-{end:%Y-%m}")


@login_required
@permission_required("insights.export_reports", raise_exception=True)
@permission_required("customers.export_customer", raise_exception=True)
@require_GET
def figure_customers_export(request: HttpRequest, key: str) -> HttpResponse:
    figure = _drillable(request, key)
    today = timezone.localdate()
    period = PeriodForm(request.GET or None, today=today).period()
    queryset = metrics.customers_behind(key, period, today=today)
    customers_exported_announce(request=request, queryset=queryset, what=f"insights:figure_customers_export:{key}")
    return exports.customers_response(queryset, stem=f"{figure.key}-{period.start}-{period.end}")
