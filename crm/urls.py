from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from crm.accounts import login
from crm.insights import views as insights_views
from customers import api_urls as customers_api_urls
from touchpoints import api_urls as touchpoints_api_urls
from touchpoints.outreach import preferences
from touchpoints.views import api_docs

from . import search, views

urlpatterns = [
    path("", insights_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("search/", search.global_search, name="search"),
    path("accounts/login/", login.LoginView.as_view(), name="login"),
    path("accounts/login/code/", login.login_verify, name="login_verify"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("crm.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("customers.urls")),
    path("touchpoints/outreach/", include("touchpoints.outreach.urls")),
    path("touchpoints/", include("touchpoints.urls")),
    path("loyalty/", include("loyalty.urls")),
    path("feedback/", include("feedback.urls")),
    path("insights/contact/", include("crm.insights.scoring_urls")),
    path("insights/", include("crm.insights.urls")),
    path("audit/", include("crm.audit.urls")),
    path("privacy/", include("crm.dataprotection.urls")),
    path("unsubscribe/", include("touchpoints.outreach.public_urls")),
    path("preferences/<str:token>/", preferences.preferences, name="preferences"),
    path("m/", include("loyalty.member.urls")),
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

# Inbound mail webhooks of mail providers (signature-checked by django-anymail): /anymail/<provider>/inbound/. Only
# when a provider is configured: anymail answers an unconfigured provider's request with an error page.
if settings.ANYMAIL:
    urlpatterns += [path("anymail/", include("anymail.urls"))]
