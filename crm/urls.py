from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from crm.insights import views as insights_views
from customers import api_urls as customers_api_urls
from touchpoints import api_urls as touchpoints_api_urls
from touchpoints.views import api_docs

from . import views

urlpatterns = [
    path("", insights_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("customers.urls")),
    path("touchpoints/outreach/", include("touchpoints.outreach.urls")),
    path("touchpoints/", include("touchpoints.urls")),
    path("loyalty/", include("loyalty.urls")),
    path("feedback/", include("feedback.urls")),
    path("insights/contact/", include("crm.insights.scoring_urls")),
    path("insights/", include("crm.insights.urls")),
    path("audit/", include("crm.audit.urls")),
    path("unsubscribe/", include("touchpoints.outreach.public_urls")),
    path("line/", include("touchpoints.outreach.line.urls")),
    # One namespace for the ingest API's routes from two apps: a second include of "api" would hide its names.
    path("api/v1/", include((customers_api_urls.urlpatterns + touchpoints_api_urls.urlpatterns, "api"))),
    path("api/v1/", include("loyalty.api_urls")),
    path("api/v1/", include("feedback.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", api_docs, name="api_docs"),
    path("admin/", admin.site.urls),
    # Observability: the Prometheus scrape (crm/observability/views.py; needs TSUNAGU_METRICS_TOKEN).
    path("", include("crm.observability.urls")),
]

admin.site.site_header = settings.TSUNAGU_SHOP_NAME + " · Tsunagu"
admin.site.site_title = "Tsunagu"

handler404 = "crm.not_found.not_found"  # JSON under /api/
