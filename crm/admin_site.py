"""The Django admin, for superusers only.

Every role user is staff (is_staff lets them log in to the staff pages), and Django's admin lets staff write any
model their permissions allow, around the services: a marketer could make their own template a "service" message
that skips consent, or date a note years back in a manager's name. The staff pages are where roles work; the
admin is the superuser's tool.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class SuperuserAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """The staff login (password, then the two-factor code), not the admin's own form, which knows no second
        step."""
        if request.method == "GET" and request.user.is_authenticated:
            return super().login(request, extra_context)  # the admin's "not authorised" page for role users
        from django.contrib.auth.views import redirect_to_login  # imports auth's models: not while apps load

        return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))


class SuperuserAdminConfig(AdminConfig):
    default_site = "crm.admin_site.SuperuserAdminSite"
