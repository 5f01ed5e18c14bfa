"""LINE Login (OpenID Connect) from the member card, against the stand-in's /oauth2/v2.1/ endpoints: the state and
nonce are signed, expiring and bound to the browser; the ID token is verified (HS256 with the channel secret,
iss, aud, exp, nonce) before its ``sub`` is linked to the card's customer."""

from __future__ import annotations

import http.client
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from loyalty.services import cards
from tests.factories import consenting_customer, line_user_id, member_join
from tests.line_standin import LOGIN_CHANNEL_ID, LOGIN_SECRET
from touchpoints.outreach.line.login import LoginError, id_token_verify
from touchpoints.outreach.models import LineUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(settings, line_standin):
    settings.LINE_LOGIN_CHANNEL_ID = LOGIN_CHANNEL_ID
    settings.LINE_LOGIN_CHANNEL_SECRET = LOGIN_SECRET
    settings.TSUNAGU_BASE_URL = "http://testserver"
    line_standin.state.login_user_id = line_user_id(7)
    return line_standin


@pytest.fixture
def member(client):
    membership = member_join(customer=consenting_customer(email="kenji@example.com"))
    client.get(urlsplit(cards.card_link(cards.card_for(membership))).path)  # the card session
    return membership


def _authorize(url: str) -> str:
    """The stand-in's authorize page: its redirect back (the browser would follow it)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", f"{parts.path}?{parts.query}")
    answer = conn.getresponse()
    assert answer.status == 302, answer.read()
    location = answer.getheader("Location")
    conn.close()
    return location


def _back(location: str) -> str:
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def test_a_member_links_line_from_their_card(client, login, member):
    # given a member on their card, with a LINE Login channel configured
    assert b'id="card-line-link"' in client.get("/m/card/").content
    # when they press "Link LINE" and LINE sends them back with a code
    start = client.post("/m/card/line/")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["client_id"] == [LOGIN_CHANNEL_ID] and query["state"] and query["nonce"]
    back = client.get(_back(_authorize(start["Location"])))
    # then their LINE user (the ID token's sub) is linked to them, and the card says so
    assert back.status_code == 302 and back["Location"] == "/m/card/"
    user = LineUser.objects.get(user_id=line_user_id(7))
    assert user.customer_id == member.customer_id and user.linked_at is not None
    assert b'id="card-line-linked"' in client.get("/m/card/").content


def test_a_callback_is_used_once_and_only_by_the_browser_that_started_it(client, login, member, django_user_model):
    from django.test import Client

    start = client.post("/m/card/line/")
    back = _back(_authorize(start["Location"]))
    # another browser with the same callback address links nobody
    assert Client().get(back).status_code == 302
    assert not LineUser.objects.filter(customer__isnull=False).exists()
    # a changed state links nobody (and ends the attempt)
    tampered = back.replace("state=", "state=0")
    client.get(tampered)
    client.get(back)
    assert not LineUser.objects.filter(customer__isnull=False).exists()


def test_a_login_cancelled_at_line_links_nobody(client, login, member):
    start = client.post("/m/card/line/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    answer = client.get(f"/line/login/callback/?error=access_denied&state={state}", follow=True)
    assert answer.status_code == 200 and b"LINE was not linked" in answer.content
    assert not LineUser.objects.exists()


def _token(**overrides) -> str:
    now = int(time.time())
    claims = {"iss": "https://access.line.me", "sub": line_user_id(7), "aud": LOGIN_CHANNEL_ID}
    claims.update({"exp": now + 60, "iat": now, "nonce": "n1"})
    secret = overrides.pop("secret", LOGIN_SECRET)
    algorithm = overrides.pop("algorithm", "HS256")
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "overrides",
    [
        {"secret": "someone-elses-secret"},
        {"aud": "1234567890"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600},
        {"nonce": "n2"},
        {"nonce": None},
        {"sub": "not-a-line-user"},
    ],
    ids=["signature", "aud", "iss", "expired", "nonce", "no-nonce", "sub"],
)
def test_an_id_token_that_is_not_ours_is_refused(login, overrides):
    with pytest.raises(LoginError):
        id_token_verify(_token(**overrides), nonce="n1")


def test_an_unsigned_id_token_is_refused(login):
    unsigned = jwt.encode({"sub": line_user_id(7)}, key=None, algorithm="none")
    with pytest.raises(LoginError):
        id_token_verify(unsigned, nonce="n1")
    assert id_token_verify(_token(), nonce="n1") == line_user_id(7)


def test_the_stand_ins_verify_endpoint_agrees(login):
    import json
    import urllib.parse
    import urllib.request

    data = urllib.parse.urlencode({"id_token": _token(), "client_id": LOGIN_CHANNEL_ID, "nonce": "n1"}).encode()
    with urllib.request.urlopen(f"{login.url}/oauth2/v2.1/verify", data=data, timeout=5) as answer:  # noqa: S310
        assert json.loads(answer.read())["sub"] == line_user_id(7)


def test_without_a_login_channel_there_is_no_button(client, line_standin, member, settings):
    settings.LINE_LOGIN_CHANNEL_ID = ""
    assert b"card-line-link" not in client.get("/m/card/").content
    assert client.post("/m/card/line/").status_code == 404
    assert client.get("/line/login/callback/?code=x&state=y").status_code == 404
