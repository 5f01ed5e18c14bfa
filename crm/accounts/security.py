"""The Security page of a staff member: their password, and two-factor authentication (enrol, backup codes,
turn off)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import password_validation
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .forms import ConfirmTokenForm, PasswordConfirmForm
from .login import VERIFIED
from .two_factor import (
    BACKUP_CODES,
    backup_codes_regenerate,
    totp_confirm,
    totp_pending,
    totp_qr_svg,
    totp_secret,
    two_factor_disable,
    two_factor_enrolled,
    two_factor_required,
)


@login_required
def security(request: HttpRequest) -> HttpResponse:
    context = {
        "min_length": password_min_length(),
        "enrolled": two_factor_enrolled(request.user),
        "required": two_factor_required(request.user),
        "password_form": PasswordConfirmForm(user=request.user),
    }
    return render(request, "accounts/security.html", context)


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
        messages.success(self.request, gettext_lazy("Your password was changed."))
        return response


@login_required
@never_cache
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """The QR code and secret of a new device, confirmed by a first code; then the backup codes, shown once."""
    if two_factor_enrolled(request.user):
        return redirect("accounts:security")
    form = ConfirmTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp_confirm(user=request.user, token=form.cleaned_data["token"])
        if codes is not None:
            request.session[VERIFIED] = True
            messages.success(request, _("Two-factor authentication is on."))
            return render(request, "accounts/backup_codes.html", {"codes": codes})
        form.add_error("token", _("That code is not right. Check the time on your phone and try the next code."))
    device = totp_pending(user=request.user)
    context = {"form": form, "qr_svg": totp_qr_svg(device), "secret": totp_secret(device)}
    return render(request, "accounts/two_factor_enrol.html", context)


@login_required
@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["POST"])
def two_factor_off(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Two-factor authentication is still on: that is not your password."))
        return redirect("accounts:security")
    two_factor_disable(user=request.user)
    request.session.pop(VERIFIED, None)
    messages.success(request, _("Two-factor authentication is off."))
    return redirect("accounts:security")


@login_required
@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["POST"])
def backup_codes_new(request: HttpRequest) -> HttpResponse:
    form = PasswordConfirmForm(request.POST, user=request.user)
    if not two_factor_enrolled(request.user) or not form.is_valid():
        messages.error(request, _("No new backup codes: that is not your password."))
        return redirect("accounts:security")
    codes = backup_codes_regenerate(user=request.user)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "count": BACKUP_CODES})
