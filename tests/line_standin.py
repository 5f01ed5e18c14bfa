"""A local stand-in for the LINE platform, started by the tests on a free port (a thread in the test process).

It answers the Messaging API endpoints Tsunagu calls with LINE's documented shapes (github:line/line-openapi):
push, multicast, reply, quota and its consumption, profile, link token; 409 with ``x-line-accepted-request-id``
on a retry key it has accepted before; 429 and other errors as ``{"message": …, "details": […]}`` when told
to. It plays the account-link dialog (``/dialog/bot/accountLink``: sends the ``accountLink`` event), and
``webhook()`` sends signed webhook events to Tsunagu, as LINE's servers do.
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
from urllib.parse import parse_qs, urlsplit

from tests.smtp_sink import free_port

TOKEN = "standin-access-token"  # noqa: S105 (the stand-in's own)
SECRET = "standin-channel-secret"  # noqa: S105


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

        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path)
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
            if not self._authorised():
                return
            path = urlsplit(self.path).path
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
