from django.urls import path

from . import security

app_name = "accounts"

urlpatterns = [
    path("security/", security.security, name="security"),
    path("password/", security.PasswordChangeView.as_view(), name="password_change"),
]
