"""/audit/: the audit trail's pages (managers), namespace ``audit``."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("customers/<int:pk>/", views.customer_audit, name="customer"),
    path("report/", views.breach_report, name="report"),
]
