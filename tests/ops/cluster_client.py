"""A small HTTP load client for the cluster test: staff sessions (login form, pages, the create form) and API
clients (touchpoints with idempotency keys, retried on a 5xx or a dropped connection), each in a thread, each
bounded in requests and time. Cookies are kept by hand: the production settings mark them Secure, which a
browser would keep from plain HTTP, but the cluster listens on the loopback without TLS."""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Result:
    kind: str  # "staff" or "api"
    method: str
    status: int  # 0: the connection failed
    started: float
    seconds: float


@dataclass
class Log:
    results: list[Result] = field(default_factory=list)
    accepted_keys: set[str] = field(default_factory=set)
    created_names: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: Result) -> None:
        with self.lock:
            self.results.append(result)


class Session:
    def __init__(self, host: str, port: int, kind: str, log: Log):
        self.host, self.port, self.kind, self.log = host, port, kind, log
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
            status = response.status
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
        except (OSError, http.client.HTTPException):
            status, content = 0, b""
        finally:
            connection.close()
        self.log.add(Result(self.kind, method, status, started, time.monotonic() - started))
        return status, content

    def form_post(self, path: str, fields: dict) -> tuple[int, bytes]:
        status, page = self.request("GET", path)
        match = CSRF_INPUT.search(page.decode("utf-8", "replace"))
        if status != 200 or not match:
            return status, page
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": match.group(1)}, doseq=True).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})


def staff_client(
    host: str,
    port: int,
    *,
    number: int,
    username: str,
    password: str,
    customer_ids: list[int],
    log: Log,
    until: float,
    max_requests: int,
) -> None:
    session = Session(host, port, "staff", log)
    for _ in range(20):  # the login itself may meet a restarting web process
        status, _ = session.form_post("/accounts/login/", {"username": username, "password": password})
        if status == 302:
            break
        time.sleep(0.5)
    rng = random.Random(number)
    done = 0
    while time.monotonic() < until and done < max_requests:
        choice = rng.random()
        if choice < 0.45:
            session.request("GET", "/customers/")
        elif choice < 0.9:
            session.request("GET", f"/customers/{rng.choice(customer_ids)}/")
        else:
            name = f"Loadtest{number}x{done}"
            status, _ = session.form_post(
                "/customers/new/",
                {
                    "family_name": name, "given_name": "Hanako", "email": f"{name.lower()}@cluster.example.net",
                    "phone": f"090-{1200 + number:04d}-{1000 + done % 9000:04d}", "country": "JP",
                    "preferred_channel": "email", "preferred_language": "ja", "source": "store",
                },
            )  # fmt: skip
            if status == 302:
                with log.lock:
                    log.created_names.append(name)
        done += 1


def api_client(
    host: str,
    port: int,
    *,
    number: int,
    api_key: str,
    customer_ids: list[int],
    log: Log,
    until: float,
    max_requests: int,
) -> None:
    session = Session(host, port, "api", log)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    rng = random.Random(1000 + number)
    for i in range(max_requests):
        if time.monotonic() >= until:
            break
        key = f"cluster-{number}-{i}"
        payload = json.dumps(
            {"customer_id": rng.choice(customer_ids), "type": "transaction", "amount": "1200", "idempotency_key": key}
        ).encode()
        for _attempt in range(10):  # a retry carries the same key: the touchpoint is recorded once
            status, _ = session.request("POST", "/api/v1/touchpoints/", payload, headers)
            if status in (200, 201):
                with log.lock:
                    log.accepted_keys.add(key)
                break
            if status and status < 500 and status != 429:
                raise AssertionError(f"the API refused {key}: {status}")
            time.sleep(0.3)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0
