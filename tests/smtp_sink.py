"""A local SMTP server for tests and benchmarks (aiosmtpd in a thread), counting what it receives.

It accepts every message and records its Message-ID, recipients and a few headers; nothing leaves
the machine. Messages whose transaction did not complete (no end of data) are never recorded.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

_HEADER_END = re.compile(rb"\r?\n\r?\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    message_id: str
    to: list[str]
    headers: dict[str, str]
    content: bytes


@dataclass
class SinkHandler:
    keep_content: bool = True
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.original_content or envelope.content
        head = _HEADER_END.split(content, 1)[0].decode("utf-8", "replace")
        headers: dict[str, str] = {}
        name = ""
        for line in head.splitlines():
            if line[:1] in (" ", "\t") and name:
                headers[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                headers[name] = value.strip()
        item = Received(
            message_id=headers.get("message-id", ""),
            to=list(envelope.rcpt_tos),
            headers=headers,
            content=content if self.keep_content else b"",
        )
        with self.lock:
            self.received.append(item)
        return "250 Message accepted for delivery"


class SmtpSink:
    """``with SmtpSink() as sink:`` … ``sink.port``, ``sink.count()``, ``sink.by_message_id()``."""

    def __init__(self, *, keep_content: bool = True, port: int | None = None):
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection at INFO
        self.handler = SinkHandler(keep_content=keep_content)
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def count(self) -> int:
        with self.handler.lock:
            return len(self.handler.received)

    def by_message_id(self) -> Counter:
        return Counter(item.message_id for item in self.received)


def serve_counting(port: int, count, ready) -> None:
    """Run a sink in a process of its own (multiprocessing target), publishing its count in ``count``."""
    import time

    with SmtpSink(keep_content=False, port=port) as sink:
        ready.set()
        while True:
            time.sleep(0.05)
            count.value = sink.count()
