"""The insights pages under /insights/ (the dashboard itself is the home page, crm/urls.py)."""

from django.urls import path

from . import drill_actions, views

app_name = "insights"

urlpatterns = [
    path("cohorts/", views.cohort_table, name="cohorts"),
    path("cohorts.csv", views.cohort_export, name="cohorts_export"),
    path("funnel/", views.funnel_card, name="funnel_card"),
    path("figures/<slug:key>/customers/", views.figure_customers, name="figure_customers"),
    path("figures/<slug:key>/customers/act/", drill_actions.figure_customers_act, name="figure_customers_act"),
    path("figures/<slug:key>/customers.csv", views.figure_customers_export, name="figure_customers_export"),
    path("about/", views.about, name="about"),
    path("export/dashboard.csv", views.dashboard_export, name="dashboard_export"),
    # The "who to contact this week" list is under insights/contact/, namespace insights_scoring
    # (crm/insights/scoring_urls.py).
]
