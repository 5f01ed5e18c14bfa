"""Wallet passes: absent without settings; a signed Apple .pkpass (verified against the self-made chain); Apple's
web service (token auth, idempotent registration, changed serials, Last-Modified); APNs pushes and Google Wallet
PATCHes after a balance change, against local stand-ins, once each however often the job runs."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import pkcs7
from django.core.cache import cache
from django.urls import reverse
from django.utils.http import http_date

from loyalty import services
from loyalty.models import WalletPass, WalletRegistration
from loyalty.services import cards
from loyalty.tasks import wallet_pass_update_task
from loyalty.wallet import google
from loyalty.wallet.config import config_forget
from loyalty.wallet.services import apple_auth_token, wallet_pass_for
from tests.wallet_standins import ApnsStandin, GoogleWalletStandin, google_key_file, wallet_secrets

pytestmark = pytest.mark.django_db

PASS_TYPE = "pass.test.tsunagu"
TEAM = "TEAM123456"
ISSUER = "3388000000000000001"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    return wallet_secrets(tmp_path_factory.mktemp("wallet"))


@pytest.fixture
def apns(made):
    standin = ApnsStandin(public_key=made["apns_public"], team_id=TEAM, topic=PASS_TYPE).start()
    yield standin
    standin.stop()


@pytest.fixture
def google_wallet(made):
    standin = GoogleWalletStandin(
        public_key=made["google_public"], client_email="wallet@tsunagu-test.iam.gserviceaccount.com"
    ).start()
    yield standin
    standin.stop()


@pytest.fixture
def wallets(settings, made, apns, google_wallet):
    d = made["dir"]
    settings.TSUNAGU_APPLE_PASS_TYPE_ID = PASS_TYPE
    settings.TSUNAGU_APPLE_TEAM_ID = TEAM
    settings.TSUNAGU_APPLE_PASS_CERT_FILE = str(d / "pass.pem")
    settings.TSUNAGU_APPLE_PASS_KEY_FILE = str(d / "pass.key")
    settings.TSUNAGU_APPLE_WWDR_CERT_FILE = str(d / "wwdr.pem")
    settings.TSUNAGU_APPLE_APNS_KEY_FILE = str(d / "apns.p8")
    settings.TSUNAGU_APPLE_APNS_KEY_ID = "KEY1234567"
    settings.TSUNAGU_APPLE_APNS_URL = apns.url
    settings.TSUNAGU_GOOGLE_WALLET_ISSUER_ID = ISSUER
    settings.TSUNAGU_GOOGLE_WALLET_KEY_FILE = str(google_key_file(d, made, google_wallet.url + "/token"))
    settings.TSUNAGU_GOOGLE_WALLET_API_URL = google_wallet.url + "/walletobjects/v1"
    config_forget()
    cache.delete(google.TOKEN_CACHE_KEY)
    yield
    config_forget()


@pytest.fixture(autouse=True)
def _fresh_config():
    config_forget()
    yield
    config_forget()


def open_card(client, membership) -> str:
    card = cards.card_for(membership)
    link = cards.card_link(card)
    assert client.get("/" + link.split("/", 3)[3]).status_code == 302
    return cards.card_token(card)


def adjust(membership, points, key, capture):
    with capture(execute=True):
        services.points_adjust(membership=membership, points=points, reason="test", key=key)


def pkpass_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def openssl_verifies(directory, manifest: bytes, signature: bytes) -> bool:
    """Another implementation checks the detached signature against the self-made root CA."""
    (directory / "manifest.json").write_bytes(manifest)
    (directory / "signature").write_bytes(signature)
    command = [shutil.which("openssl"), "cms", "-verify", "-binary", "-inform", "DER",
               "-in", str(directory / "signature"), "-content", str(directory / "manifest.json"),
               "-CAfile", str(directory / "root.pem"), "-purpose", "any", "-out", "/dev/null"]  # fmt: skip
    return subprocess.run(command, capture_output=True, check=False).returncode == 0  # noqa: S603


def auth(wallet_pass) -> dict:
    return {"HTTP_AUTHORIZATION": f"ApplePass {apple_auth_token(wallet_pass)}"}


def registration_url(wallet_pass, device="device-1"):
    return reverse("member:wallet_apple_registration", args=[device, PASS_TYPE, wallet_pass.serial_number])


# --- Without settings -----------------------------------------------------------------------------


def test_without_wallet_settings_the_card_shows_no_wallet_button(client, member):
    open_card(client, member)
    page = client.get(reverse("member:card")).content.decode()
    assert 'id="card-wallet"' not in page
    assert client.get(reverse("member:wallet_apple")).status_code == 404
    assert client.get(reverse("member:wallet_google")).status_code == 404


# --- Apple ----------------------------------------------------------------------------------------


def test_the_card_shows_both_wallet_buttons_when_configured(client, member, wallets):
    open_card(client, member)
    page = client.get(reverse("member:card")).content.decode()
    assert 'id="wallet-apple"' in page and 'id="wallet-google"' in page


def test_a_downloaded_pass_holds_balance_tier_number_and_token_and_its_signature_verifies(
    client, member, wallets, made, django_capture_on_commit_callbacks
):
    # given: a member with 150 points and an open card
    adjust(member, 150, "w-1", django_capture_on_commit_callbacks)
    token = open_card(client, member)

    # when: the member downloads the pass
    response = client.get(reverse("member:wallet_apple"))

    # then: a pkpass whose pass.json shows the card, with a manifest of every file and a valid signature
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    files = pkpass_files(response.content)
    data = json.loads(files["pass.json"])
    assert data["passTypeIdentifier"] == PASS_TYPE and data["teamIdentifier"] == TEAM
    assert data["storeCard"]["primaryFields"][0]["value"] == 150
    assert data["storeCard"]["auxiliaryFields"][0]["value"] == member.member_number
    assert data["storeCard"]["headerFields"][0]["value"] == member.tier.name
    assert data["barcodes"][0]["message"] == token and data["barcodes"][0]["format"] == "PKBarcodeFormatQR"
    wallet_pass = WalletPass.objects.get(membership=member)
    assert data["serialNumber"] == wallet_pass.serial_number
    assert len(data["authenticationToken"]) >= 16
    assert data["authenticationToken"] not in wallet_pass.auth_token_hash  # stored hashed
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest  # noqa: S324
    signers = pkcs7.load_der_pkcs7_certificates(files["signature"])
    assert {c.subject for c in signers} == {made["pass_cert"].subject, made["wwdr"].subject}
    assert openssl_verifies(made["dir"], files["manifest.json"], files["signature"])
    # and a tampered manifest does not verify
    assert not openssl_verifies(made["dir"], files["manifest.json"].replace(b"}", b" }"), files["signature"])


def test_apple_web_service_registration_is_authenticated_and_idempotent(client, member, wallets):
    wallet_pass = wallet_pass_for(member)
    body = json.dumps({"pushToken": "push-1"})
    url = registration_url(wallet_pass)

    assert client.post(url, body, content_type="application/json").status_code == 401
    bad = {"HTTP_AUTHORIZATION": "ApplePass " + "A" * 32}
    assert client.post(url, body, content_type="application/json", **bad).status_code == 401
    assert client.post(url, body, content_type="application/json", **auth(wallet_pass)).status_code == 201
    again = json.dumps({"pushToken": "push-2"})
    assert client.post(url, again, content_type="application/json", **auth(wallet_pass)).status_code == 200
    assert list(WalletRegistration.objects.values_list("push_token", flat=True)) == ["push-2"]
    wrong_type = reverse("member:wallet_apple_registration", args=["device-1", "pass.other", wallet_pass.serial_number])
    assert client.post(wrong_type, body, content_type="application/json", **auth(wallet_pass)).status_code == 404
    assert client.post(url, "{not json", content_type="application/json", **auth(wallet_pass)).status_code == 400

    assert client.delete(url, **auth(wallet_pass)).status_code == 200
    assert not WalletRegistration.objects.exists()


def test_apple_web_service_lists_changed_serials_and_serves_the_latest_pass(
    client, member, wallets, django_capture_on_commit_callbacks
):
    # given: a device registered for the pass
    wallet_pass = wallet_pass_for(member)
    url = registration_url(wallet_pass)
    client.post(url, json.dumps({"pushToken": "push-1"}), content_type="application/json", **auth(wallet_pass))
    serials_url = reverse("member:wallet_apple_serials", args=["device-1", PASS_TYPE])
    listed = client.get(serials_url).json()
    assert listed["serialNumbers"] == [wallet_pass.serial_number]
    assert client.get(serials_url, {"passesUpdatedSince": listed["lastUpdated"]}).status_code == 204
    pass_url = reverse("member:wallet_apple_pass", args=[PASS_TYPE, wallet_pass.serial_number])
    first = client.get(pass_url, **auth(wallet_pass))
    assert first.status_code == 200
    assert client.get(pass_url).status_code == 401
    assert client.get(pass_url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"], **auth(wallet_pass)).status_code == 304

    # when: the balance changes
    adjust(member, 40, "w-2", django_capture_on_commit_callbacks)

    # then: the serial is listed as changed and the pass is served again with the new balance
    assert client.get(serials_url, {"passesUpdatedSince": listed["lastUpdated"]}).json()["serialNumbers"] == [
        wallet_pass.serial_number
    ]
    wallet_pass.refresh_from_db()
    since = http_date(wallet_pass.changed_at.timestamp() - 5)
    fresh = client.get(pass_url, HTTP_IF_MODIFIED_SINCE=since, **auth(wallet_pass))
    assert fresh.status_code == 200
    assert json.loads(pkpass_files(fresh.content)["pass.json"])["storeCard"]["primaryFields"][0]["value"] == 40
    assert client.post(reverse("member:wallet_apple_log"), json.dumps({"logs": ["x"]}),
                       content_type="application/json").status_code == 200  # fmt: skip


def test_a_balance_change_pushes_once_to_each_registered_device(
    client, member, wallets, apns, django_capture_on_commit_callbacks
):
    # given: two devices registered for the pass, one of which has since removed it
    wallet_pass = wallet_pass_for(member)
    for device, token in (("device-1", "push-1"), ("device-2", "push-gone")):
        client.post(registration_url(wallet_pass, device), json.dumps({"pushToken": token}),
                    content_type="application/json", **auth(wallet_pass))  # fmt: skip
    apns.gone.add("push-gone")

    # when: the balance changes and the update job runs twice
    adjust(member, 25, "w-3", django_capture_on_commit_callbacks)
    first = wallet_pass_update_task(member.pk)
    second = wallet_pass_update_task(member.pk)

    # then: one push per device, token-authenticated for the pass type; the removed device is forgotten
    assert first["apple"] == 2 and second["apple"] == 0
    assert [p.device_token for p in apns.pushes] == ["push-1"]
    assert apns.pushes[0].headers["apns-topic"] == PASS_TYPE and apns.rejected == 1  # the 410
    assert list(WalletRegistration.objects.values_list("device_library_id", flat=True)) == ["device-1"]


def test_a_member_without_a_pass_costs_no_update_job(member, wallets, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.points_adjust(membership=member, points=10, reason="test", key="w-4")
    assert callbacks == [] or all("wallet" not in getattr(c, "__qualname__", "") for c in callbacks)
    assert not WalletPass.objects.exists()


# --- Google ---------------------------------------------------------------------------------------


def test_the_google_link_holds_the_loyalty_object_and_a_change_patches_it_once(
    client, member, wallets, made, google_wallet, django_capture_on_commit_callbacks
):
    # given: a member with 70 points follows "Save to Google Wallet"
    adjust(member, 70, "w-5", django_capture_on_commit_callbacks)
    token = open_card(client, member)
    response = client.get(reverse("member:wallet_google"))
    assert response.status_code == 302
    assert response["Location"].startswith("https://pay.google.com/gp/v/save/")
    claims = jwt.decode(response["Location"].rsplit("/", 1)[1], made["google_public"], algorithms=["RS256"],
                        audience="google")  # fmt: skip
    (saved,) = claims["payload"]["loyaltyObjects"]
    assert saved["loyaltyPoints"]["balance"]["int"] == 70
    assert saved["barcode"]["value"] == token and saved["classId"] == f"{ISSUER}.members"
    google_wallet.saved.add(saved["id"])

    # when: the balance changes and the job runs twice
    adjust(member, 30, "w-6", django_capture_on_commit_callbacks)
    first = wallet_pass_update_task(member.pk)
    second = wallet_pass_update_task(member.pk)

    # then: one PATCH with the new balance, authorised by a token the service account obtained
    assert first["google"] == 1 and second["google"] == 0
    ((object_id, fields),) = google_wallet.patches
    assert object_id == saved["id"] and fields["loyaltyPoints"]["balance"]["int"] == 100
    assert google_wallet.rejected == 0


def test_a_reissued_card_updates_the_pass_token(client, member, wallets, django_capture_on_commit_callbacks):
    wallet_pass = wallet_pass_for(member)
    before = wallet_pass.changed_at
    with django_capture_on_commit_callbacks(execute=True):
        new = cards.card_reissue(membership=member)
    wallet_pass.refresh_from_db()
    assert wallet_pass.changed_at > before
    pass_url = reverse("member:wallet_apple_pass", args=[PASS_TYPE, wallet_pass.serial_number])
    data = json.loads(pkpass_files(client.get(pass_url, **auth(wallet_pass)).content)["pass.json"])
    assert data["barcodes"][0]["message"] == cards.card_token(new)
