from django.urls import path

from . import security

app_name = "accounts"

urlpatterns = [
    path("security/", security.security, name="security"),
    path("password/", security.PasswordChangeView.as_view(), name="password_change"),
    path("security/two-factor/", security.two_factor_enrol, name="two_factor_enrol"),
    path("security/two-factor/off/", security.two_factor_off, name="two_factor_off"),
    path("security/backup-codes/", security.backup_codes_new, name="backup_codes_new"),
]
