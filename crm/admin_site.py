"""The Django admin, for superusers only.

Every role user is staff (is_staff lets them log in to the staff pages), and Django's admin lets staff write any
model their permissions allow, around the services: a marketer could make their own template a "service" message
that skips consent, or date a note years back in a manager's name. The staff pages are where roles work; the
admin is the superuser's tool.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class SuperuserAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser


class SuperuserAdminConfig(AdminConfig):
    default_site = "crm.admin_site.SuperuserAdminSite"
