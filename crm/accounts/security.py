"""The Security page of a staff member: their password, and two-factor authentication."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


@login_required
def security(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/security.html", {"min_length": password_min_length()})


def password_min_length() -> int:
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            return validator.min_length
    return 0


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, with the validators of AUTH_PASSWORD_VALIDATORS; the session stays logged in after the change."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:security")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response
