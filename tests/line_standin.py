"""A local stand-in for the LINE platform, started by the tests on a free port (a thread in the test process).

It answers the Messaging API endpoints Tsunagu calls with LINE's documented shapes (github:line/line-openapi):
push, multicast, reply, quota and its consumption, profile, link token; 409 with ``x-line-accepted-request-id``
on a retry key it has accepted before; 429 and other errors as ``{"message": …, "details": […]}`` when told
to. It plays the account-link dialog (``/dialog/bot/accountLink``: sends the ``accountLink`` event), and
``webhook()`` sends signed webhook events to Tsunagu, as LINE's servers do.

LINE Login (OpenID Connect, v2.1): ``/oauth2/v2.1/authorize`` consents at once for ``login_user_id`` and
redirects back with a code; ``/oauth2/v2.1/token`` exchanges it (once, for the same redirect URI and channel)
for an HS256 ID token signed with the login channel's secret; ``/oauth2/v2.1/verify`` checks an ID token.
Errors are OAuth's ``{"error": …, "error_description": …}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from tests.smtp_sink import free_port

TOKEN = "standin-access-token"  # noqa: S105 (the stand-in's own)
SECRET = "standin-channel-secret"  # noqa: S105
LOGIN_CHANNEL_ID = "1660000000"
LOGIN_SECRET = "standin-login-channel-secret-0001"  # noqa: S105 (32 characters, as LINE's)


@dataclass
class Delivery:
    to: str
    messages: list
    via: str  # push, multicast, reply
    request_id: str


@dataclass
class State:
    token: str = TOKEN
    deliveries: list[Delivery] = field(default_factory=list)
    retry_keys: dict[str, str] = field(default_factory=dict)
    reply_tokens: dict[str, str] = field(default_factory=dict)  # token -> user id (unused ones)
    quota: int | None = 1000
    faults: list[tuple[int, int]] = field(default_factory=list)  # (status, retry_after) for the next calls
    delay: float = 0.0  # seconds before answering a push or multicast (after taking it)
    requests: int = 0
    rejected_429: int = 0
    # LINE Login: the user logged in to LINE in the browser, and the codes issued (code -> its grant).
    login_user_id: str = "U" + "1" * 32
    login_codes: dict[str, dict] = field(default_factory=dict)


def button_uri(message: dict) -> str:
    """The link of a message's button: a Flex bubble's footer button, or a buttons template's first action."""
    if message.get("type") == "flex":
        return message["contents"]["footer"]["contents"][0]["action"]["uri"]
    return message["template"]["actions"][0]["uri"]


def _walk(node, path: str):
    if isinstance(node, dict):
        yield node, path
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def flex_problem(message: dict, index: int) -> dict | None:
    """What LINE would refuse in a Flex message (minimally: its shape and documented limits), as a detail."""
    if message.get("type") != "flex":
        return None
    where = f"messages[{index}]"
    alt = message.get("altText")
    if not isinstance(alt, str) or not 1 <= len(alt) <= 1500:
        return {"message": "Length must be between 1 and 1500", "property": f"{where}.altText"}
    contents = message.get("contents") or {}
    if contents.get("type") not in ("bubble", "carousel"):
        return {"message": "must be one of bubble, carousel", "property": f"{where}.contents.type"}
    if len(json.dumps(contents, ensure_ascii=False).encode()) > 30_000:
        return {"message": "Size must be less than 30KB", "property": f"{where}.contents"}
    for node, path in _walk(contents, f"{where}.contents"):
        kind = node.get("type")
        if kind == "box" and (
            node.get("layout") not in ("vertical", "horizontal", "baseline") or "contents" not in node
        ):
            return {"message": "invalid box", "property": path}
        if kind == "text" and not node.get("text"):
            return {"message": "must be specified", "property": f"{path}.text"}
        if kind == "button":
            action = node.get("action") or {}
            if not 1 <= len(action.get("label") or "") <= 40:
                return {"message": "Length must be between 1 and 40", "property": f"{path}.action.label"}
            if action.get("type") == "uri" and not 1 <= len(action.get("uri") or "") <= 1000:
                return {"message": "Length must be between 1 and 1000", "property": f"{path}.action.uri"}
    return None


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class LineStandin:
    def __init__(self, *, webhook_url: str = "", secret: str = SECRET):
        self.state = State()
        self.lock = threading.Lock()
        self.webhook_url = webhook_url
        self.secret = secret
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LineStandin:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- What tests look at -------------------------------------------------------------------------------

    def texts_to(self, user_id: str) -> list[str]:
        with self.lock:
            return [
                m.get("text", m.get("altText", ""))
                for d in self.state.deliveries
                if d.to == user_id
                for m in d.messages
            ]

    def deliveries_to(self, user_id: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.state.deliveries if d.to == user_id]

    def delivered_count(self) -> int:
        with self.lock:
            return len(self.state.deliveries)

    def fail_next(self, status: int, *, times: int = 1, retry_after: int = 0) -> None:
        with self.lock:
            self.state.faults.extend([(status, retry_after)] * times)

    def issue_reply_token(self, user_id: str) -> str:
        token = uuid.uuid4().hex
        with self.lock:
            self.state.reply_tokens[token] = user_id
        return token

    # --- Webhook events, signed as LINE signs them ----------------------------------------------------------

    def signed(self, events: list[dict], *, secret: str | None = None) -> tuple[bytes, str]:
        """A webhook body and its x-line-signature (to post with Django's test client)."""
        body = json.dumps({"destination": "Ustandin", "events": events}).encode()
        return body, sign(body, secret or self.secret)

    def webhook(self, events: list[dict], *, secret: str | None = None, signature: str | None = None) -> int:
        body = json.dumps({"destination": "Ustandin", "events": events}).encode()
        request = urllib.request.Request(  # noqa: S310 (a local address)
            self.webhook_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "x-line-signature": signature or sign(body, secret or self.secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    @staticmethod
    def event(kind: str, user_id: str, **extra) -> dict:
        event = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": False},
        }
        event.update(extra)
        return event

    def follow(self, user_id: str) -> dict:
        return self.event("follow", user_id, replyToken=self.issue_reply_token(user_id), follow={"isUnblocked": False})

    def unfollow(self, user_id: str) -> dict:
        return self.event("unfollow", user_id)

    def text(self, user_id: str, text: str) -> dict:
        return self.event(
            "message",
            user_id,
            replyToken=self.issue_reply_token(user_id),
            message={"type": "text", "id": str(uuid.uuid4().int)[:18], "text": text, "quoteToken": "q"},
        )

    def account_link(self, user_id: str, nonce: str, result: str = "ok") -> dict:
        return self.event("accountLink", user_id, link={"result": result, "nonce": nonce})


def _handler(standin: LineStandin):
    state = standin.state

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self, status: int, payload: dict | None = None, headers: dict | None = None) -> None:
            body = json.dumps(payload if payload is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-line-request-id", uuid.uuid4().hex)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str, details: list | None = None, headers: dict | None = None) -> None:
            payload = {"message": message}
            if details:
                payload["details"] = details
            self._answer(status, payload, headers)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._error(
                    401, "Authentication failed. Confirm that the access token in the authorization header is valid."
                )
                return False
            return True

        def _fault(self) -> bool:
            with standin.lock:
                fault = state.faults.pop(0) if state.faults else None
                if fault and fault[0] == 429:
                    state.rejected_429 += 1
            if fault is None:
                return False
            status, retry_after = fault
            headers = {"Retry-After": str(retry_after)} if retry_after else {}
            message = "The API rate limit has been exceeded. Try again later." if status == 429 else "Internal error"
            self._error(status, message, headers=headers)
            return True

        def _oauth_error(self, status: int, error: str, description: str) -> None:
            self._answer(status, {"error": error, "error_description": description})

        def _authorize(self, query: dict) -> None:
            """Consent at once and redirect back with a code (LINE's page would ask the user first)."""
            one = {name: (values or [""])[0] for name, values in query.items()}
            if one.get("client_id") != LOGIN_CHANNEL_ID or one.get("response_type") != "code":
                self._oauth_error(400, "invalid_request", "unknown client_id or response_type")
                return
            if "openid" not in one.get("scope", "").split() or not one.get("redirect_uri") or not one.get("state"):
                self._oauth_error(400, "invalid_request", "scope openid, redirect_uri and state are required")
                return
            code = uuid.uuid4().hex[:20]
            with standin.lock:
                state.login_codes[code] = {
                    "redirect_uri": one["redirect_uri"],
                    "nonce": one.get("nonce", ""),
                    "sub": state.login_user_id,
                }
            target = one["redirect_uri"] + "?" + urlencode({"code": code, "state": one["state"]})
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _token(self, form: dict) -> None:
            if form.get("grant_type") != "authorization_code":
                self._oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code")
                return
            if form.get("client_id") != LOGIN_CHANNEL_ID or form.get("client_secret") != LOGIN_SECRET:
                self._oauth_error(400, "invalid_client", "invalid client")
                return
            with standin.lock:
                grant = state.login_codes.pop(form.get("code", ""), None)  # a code works once
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                self._oauth_error(400, "invalid_grant", "invalid authorization code")
                return
            now = int(time.time())
            claims = {"iss": "https://access.line.me", "sub": grant["sub"], "aud": LOGIN_CHANNEL_ID}
            claims.update({"exp": now + 3600, "iat": now, "amr": ["linesso"], "name": "LINE user"})
            if grant["nonce"]:
                claims["nonce"] = grant["nonce"]
            self._answer(
                200,
                {
                    "access_token": uuid.uuid4().hex,
                    "expires_in": 2592000,
                    "id_token": jwt.encode(claims, LOGIN_SECRET, algorithm="HS256"),
                    "refresh_token": uuid.uuid4().hex,
                    "scope": "openid profile",
                    "token_type": "Bearer",
                },
            )

        def _verify(self, form: dict) -> None:
            try:
                claims = jwt.decode(
                    form.get("id_token", ""),
                    LOGIN_SECRET,
                    algorithms=["HS256"],
                    audience=form.get("client_id", ""),
                    issuer="https://access.line.me",
                )
            except jwt.PyJWTError as exc:
                self._oauth_error(400, "invalid_request", f"Invalid IdToken: {type(exc).__name__}")
                return
            if form.get("nonce") and claims.get("nonce") != form["nonce"]:
                self._oauth_error(400, "invalid_request", "Invalid IdToken Nonce.")
                return
            self._answer(200, claims)

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path)
            if path.path == "/oauth2/v2.1/authorize":
                self._authorize(parse_qs(path.query))
                return
            if path.path == "/dialog/bot/accountLink":
                query = parse_qs(path.query)
                link_token = (query.get("linkToken") or [""])[0]
                nonce = (query.get("nonce") or [""])[0]
                user_id = getattr(standin, "link_tokens", {}).get(link_token)
                if not user_id or not nonce:
                    self._error(400, "Invalid link token")
                    return
                standin.webhook([standin.account_link(user_id, nonce)])
                body = b"<!doctype html><title>LINE</title><h1>Account linked</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if not path.path.startswith("/v2/"):
                self._error(404, "Not found")  # a browser's favicon.ico
                return
            if not self._authorised():
                return
            if path.path == "/v2/bot/message/quota":
                if state.quota is None:
                    self._answer(200, {"type": "none"})
                else:
                    self._answer(200, {"type": "limited", "value": state.quota})
            elif path.path == "/v2/bot/message/quota/consumption":
                with standin.lock:
                    used = sum(1 for d in state.deliveries if d.via != "reply")
                self._answer(200, {"totalUsage": used})
            elif m := re.fullmatch(r"/v2/bot/profile/(U[0-9a-f]{32})", path.path):
                self._answer(
                    200, {"userId": m.group(1), "displayName": f"LINE user {m.group(1)[1:6]}", "language": "ja"}
                )
            else:
                self._error(404, "Not found")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = urlsplit(self.path).path
            if path in ("/oauth2/v2.1/token", "/oauth2/v2.1/verify"):
                form = {name: values[0] for name, values in parse_qs(raw.decode("utf-8", "replace")).items()}
                (self._token if path.endswith("token") else self._verify)(form)
                return
            if not self._authorised():
                return
            if m := re.fullmatch(r"/v2/bot/user/(U[0-9a-f]{32})/linkToken", path):
                token = uuid.uuid4().hex
                with standin.lock:
                    if not hasattr(standin, "link_tokens"):
                        standin.link_tokens = {}
                    standin.link_tokens[token] = m.group(1)
                self._answer(200, {"linkToken": token})
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._error(400, "The request body has 1 error(s)", [{"message": "invalid JSON", "property": ""}])
                return
            messages = body.get("messages") or []
            if not 1 <= len(messages) <= 5:
                self._error(
                    400,
                    "The request body has 1 error(s)",
                    [{"message": "Size must be between 1 and 5", "property": "messages"}],
                )
                return
            problems = [p for i, m in enumerate(messages) if (p := flex_problem(m, i))]
            if problems:
                self._error(400, "A message (messages[0]) in the request body is invalid", problems)
                return
            if path == "/v2/bot/message/reply":
                with standin.lock:
                    user_id = state.reply_tokens.pop(body.get("replyToken", ""), None)
                if user_id is None:
                    self._error(400, "Invalid reply token")
                    return
                with standin.lock:
                    state.deliveries.append(Delivery(user_id, messages, "reply", uuid.uuid4().hex))
                self._answer(200, {"sentMessages": [{"id": uuid.uuid4().hex} for _ in messages]})
                return
            if path == "/v2/bot/message/push":
                recipients = [body.get("to", "")]
            elif path == "/v2/bot/message/multicast":
                recipients = body.get("to") or []
                if not 1 <= len(recipients) <= 500:
                    self._error(
                        400,
                        "The request body has 1 error(s)",
                        [{"message": "Size must be between 1 and 500", "property": "to"}],
                    )
                    return
            else:
                self._error(404, "Not found")
                return
            if self._fault():
                return
            retry_key = self.headers.get("X-Line-Retry-Key", "")
            request_id = uuid.uuid4().hex
            with standin.lock:
                state.requests += 1
                if retry_key:
                    accepted = state.retry_keys.get(retry_key)
                    if accepted:
                        conflict = accepted
                    else:
                        conflict = ""
                        state.retry_keys[retry_key] = request_id
                else:
                    conflict = ""
                if not conflict:
                    via = "push" if path.endswith("push") else "multicast"
                    state.deliveries.extend(Delivery(to, messages, via, request_id) for to in recipients)
            if conflict:
                self._error(409, "The retry key is already accepted", headers={"x-line-accepted-request-id": conflict})
                return
            if state.delay:
                time.sleep(state.delay)
            self._answer(
                200, {"sentMessages": [{"id": uuid.uuid4().hex} for _ in messages]} if path.endswith("push") else {}
            )

    return Handler
