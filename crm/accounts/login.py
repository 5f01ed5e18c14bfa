"""The two-step login: the password (Django's form, throttled by django-axes), then, for a user with two-factor
authentication, a code from their app or a backup code.

Between the steps the session holds only who passed the password and when (for five minutes), not a login. A wrong
code counts as a failed login for django-axes (the account and the address are locked after the same number of
failures as passwords), and each device slows its own tries (django-otp's throttle). Logging in cycles the
session key (Django's ``login``), so the key a visitor had before the code is worthless after it.
"""

from __future__ import annotations

import time

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from crm.auth import login_locked_out

from .forms import TokenForm
from .two_factor import token_verify, two_factor_enrolled

PENDING = "tsunagu_login_pending"
PENDING_SECONDS = 300
# Set on a session whose user passed two-factor authentication (or enrolled in it): the requirement of
# TSUNAGU_REQUIRE_2FA_FOR is then met without a query on every page.
VERIFIED = "tsunagu_2fa_verified"


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not two_factor_enrolled(user):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login_verify")


def _pending_user(request: HttpRequest):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, None
    user = get_user_model()._default_manager.filter(pk=pending["user"], is_active=True).first()
    return user, pending


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING, None)
        messages.info(request, _("Please log in again: the code was not entered within five minutes."))
        return redirect("login")
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        request.session.pop(PENDING, None)
        return login_locked_out(request, None, credentials)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = token_verify(user=user, token=form.cleaned_data["token"])
        if device is not None:
            request.session.pop(PENDING, None)
            user.backend = pending["backend"]
            auth_login(request, user)  # a new session key; django-axes clears the account's failures
            request.session[VERIFIED] = True
            next_url = pending.get("next") or "/"
            safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
            return redirect(next_url if safe else "home")
        # Counted by django-axes like a wrong password: its middleware answers with the lockout page at the limit.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        form.add_error("token", _("That code is not right, or came too soon after a wrong one. Try the next code."))
    return render(request, "registration/login_verify.html", {"form": form}, status=200)
