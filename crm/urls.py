from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from touchpoints.views import api_docs

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("customers.urls")),
    path("touchpoints/", include("touchpoints.urls")),
    path("loyalty/", include("loyalty.urls")),
    path("feedback/", include("feedback.urls")),
    path("insights/contact/", include("crm.scoring_urls")),
    path("insights/", include("crm.insights_urls")),
    path("unsubscribe/", include("touchpoints.public_urls")),
    path("api/v1/", include("touchpoints.api_urls")),
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
