"""LINE's public addresses: the webhook, and the account-link page a customer opens from LINE."""

from django.urls import path

from . import link_views, webhook

app_name = "line"
urlpatterns = [
    path("webhook/", webhook.webhook, name="webhook"),
    path("link/", link_views.link_start, name="link"),
    path("link/code/", link_views.link_code, name="link_code"),
    path("login/callback/", link_views.login_callback, name="login_callback"),
    path("link/proof/<slug:key>/", link_views.link_proof, name="link_proof"),
]
