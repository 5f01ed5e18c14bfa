from django.urls import path

from ..wallet import views as wallet
from . import views

app_name = "member"

urlpatterns = [
    path("", views.start, name="start"),
    path("code/", views.code, name="code"),
    path("open/<str:token>/", views.open_link, name="open"),
    path("hand/<str:token>/", views.open_handover, name="open_handover"),
    path("card/", views.card_page, name="card"),
    path("card/history/", views.history, name="history"),
    path("card/redeem/", views.redeem, name="redeem"),
    path("card/vouchers/<int:pk>/", views.voucher, name="voucher"),
    path("card/line/", views.line_link, name="line_link"),
    path("card/sign-out/", views.sign_out, name="sign_out"),
    path("card/wallet/apple/", wallet.card_apple_pass, name="wallet_apple"),
    path("card/wallet/google/", wallet.card_google_pass, name="wallet_google"),
    # Apple's pass web service: the pass's webServiceURL, and the addresses Apple builds under it (no slash).
    path("wallet/apple/", wallet.root, name="wallet_apple_root"),
    path(
        "wallet/apple/v1/devices/<str:device>/registrations/<str:pass_type>/<str:serial>",
        wallet.registration,
        name="wallet_apple_registration",
    ),  # fmt: skip
    path(
        "wallet/apple/v1/devices/<str:device>/registrations/<str:pass_type>",
        wallet.serials,
        name="wallet_apple_serials",
    ),  # fmt: skip
    path("wallet/apple/v1/passes/<str:pass_type>/<str:serial>", wallet.latest_pass, name="wallet_apple_pass"),
    path("wallet/apple/v1/log", wallet.device_log, name="wallet_apple_log"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("r/<str:code>/", views.referral, name="referral"),
]
