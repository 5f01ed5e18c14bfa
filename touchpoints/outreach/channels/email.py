"""Handing one email to Django's mail backend, with hooks around the point of no return.

SMTP has one commit point: the server takes responsibility for a message when it receives the
end-of-data line (``.``) and answers 250. Before that, a dropped connection discards the message.
For Django's SMTP backend we therefore run the SMTP transaction ourselves (MAIL, RCPT, DATA, the
content) and, just before the end-of-data line, call ``hand_over()``: the outbox *issues* its durable
"handed over" write there, and the end-of-data line is written immediately after, without waiting for
the database's answer (``confirm()`` waits for it afterwards). So the record and the line leave this
process back to back; see docs/outbox.md for what that buys under ``kill -9``.

Other backends (console, file, locmem, or a provider's backend) have no such point: the hand-over is
confirmed before ``send_messages`` and the whole call is the uncertain window.
"""

from __future__ import annotations

import base64
import contextlib
import re
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import DNS_NAME, sanitize_address

from ..models import MessageChannel
from .base import Channel, register


def _email(customer) -> str:
    return customer.email


# The one channel the outbox sends itself (``Delivery`` below, driven by outbox/send.py).
EMAIL = register(Channel(code=MessageChannel.EMAIL, address_of=_email, needs_address=True, by_staff=False))

_LEADING_DOT = re.compile(rb"(?m)^\.")
CRLF = b"\r\n"

# ``hand_over()`` starts the durable record and returns ``confirm()``, which waits for it (True: recorded);
# ``may_send()`` starts the last check and returns ``check()``, which waits for it (True: send).
HandOver = Callable[[], Callable[[], bool]]
MaySend = Callable[[], Callable[[], bool]]


class DeliveryError(Exception):
    """The message was not accepted. ``permanent``: the server refused it for good (a 5xx reply).
    ``connection_lost``: the connection is unusable (the rest of the batch should wait)."""

    def __init__(self, text: str, *, permanent: bool = False, connection_lost: bool = False):
        super().__init__(text)
        self.permanent = permanent
        self.connection_lost = connection_lost


class HandedOverUnconfirmed(Exception):
    """The end of data was sent but the answer never came: the server may have the message."""


@dataclass
class Timings:
    """Per message: seconds from issuing the hand-over record to the end-of-data line leaving (the only
    window in which a killed worker loses a message), and to the server's answer."""

    record_to_end_of_data: list[float] = field(default_factory=list)
    to_answer: list[float] = field(default_factory=list)


# --- Serialising a plain-text message -------------------------------------------------------------

_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")  # one header line of printable ASCII (no CR or LF)
_FAST_HEADERS = {"message-id", "list-unsubscribe", "list-unsubscribe-post", "reply-to", "auto-submitted"}
_LINE_LIMIT = 998
_from_headers: dict[str, str] = {}


def _encoded_words(text: str) -> str:
    """RFC 2047 base64 encoded-words of at most 45 UTF-8 bytes each (75 characters), never splitting a
    character, folded onto continuation lines."""
    words, chunk = [], b""
    for char in text:
        data = char.encode()
        if len(chunk) + len(data) > 45:
            words.append(chunk)
            chunk = b""
        chunk += data
    if chunk:
        words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word).decode()}?=" for word in words)


def _from_header(from_email: str) -> str:
    """The From header exactly as Django writes it (computed once per sender)."""
    if from_email not in _from_headers:
        rendered = EmailMessage(from_email=from_email, to=["x@example.com"]).message()["From"]
        _from_headers[from_email] = str(rendered)
    return _from_headers[from_email]


def message_bytes(message: EmailMessage) -> bytes:
    """``message.message().as_bytes()``, computed directly for the outbox's own plain-text messages (one
    recipient, UTF-8, no attachments, known headers): Python's email package spends more time folding
    headers than the rest of a send. Anything else goes through Django's serialisation."""
    fast = _plain_text_bytes(message)
    return fast if fast is not None else message.message().as_bytes(linesep="\r\n")


def _plain_text_bytes(message: EmailMessage) -> bytes | None:
    if (
        type(message) is not EmailMessage
        or message.attachments
        or message.cc
        or message.bcc
        or message.reply_to
        or message.content_subtype != "plain"
        or (message.encoding or settings.DEFAULT_CHARSET).lower().replace("-", "") != "utf8"
        or len(message.to) != 1
    ):
        return None
    to = message.to[0]
    if not _PRINTABLE.match(to) or to.count("@") != 1 or any(c in to for c in ',<>;"'):
        return None
    extra = {name.lower(): value for name, value in message.extra_headers.items()}
    if set(extra) - _FAST_HEADERS or not all(_PRINTABLE.match(value) for value in extra.values()):
        return None
    lines = message.body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(len(line.encode()) > _LINE_LIMIT for line in lines):
        return None  # Django switches to quoted-printable
    subject = " ".join(str(message.subject).split())
    if not (_PRINTABLE.match(subject) and len(subject) < 900):
        subject = _encoded_words(subject)
    headers = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        "Content-Transfer-Encoding: 8bit",
        f"Subject: {subject}",
        f"From: {_from_header(message.from_email)}",
        f"To: {to}",
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}",
        f"Message-ID: {extra.get('message-id') or make_msgid(domain=DNS_NAME)}",
    ]
    for name, header in (
        ("reply-to", "Reply-To"),
        ("auto-submitted", "Auto-Submitted"),
        ("list-unsubscribe", "List-Unsubscribe"),
        ("list-unsubscribe-post", "List-Unsubscribe-Post"),
    ):
        if name in extra:
            headers.append(f"{header}: {extra[name]}")
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(lines)).encode()


class Delivery:
    """One connection's worth of sending. ``send(message, may_send=…, hand_over=…)`` returns True when the
    server accepted the message, False when the check said no (nothing was delivered)."""

    def __init__(self, backend=None, *, timings: Timings | None = None):
        self.backend = backend or get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or None)
        self.smtp = isinstance(self.backend, SMTPBackend)
        self.timings = timings
        self._senders: dict[tuple[str, str], str] = {}

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection
            self.backend.close()

    def _drop(self) -> None:
        """Close the socket without QUIT: in the middle of DATA the server then discards the message."""
        connection = getattr(self.backend, "connection", None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
        self.backend.connection = None

    def send(self, message: EmailMessage, *, may_send: MaySend, hand_over: HandOver) -> bool:
        """``may_send()`` starts the outbox's last check and returns ``check()`` (False: do not send);
        ``hand_over()`` starts the durable record and returns ``confirm()`` (see the module docstring)."""
        if not self.smtp:
            if not may_send()() or not hand_over()():
                return False
            try:
                return bool(self.backend.send_messages([message]))
            except Exception as exc:
                raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        return self._send_smtp(message, may_send, hand_over)

    def _open(self) -> smtplib.SMTP:
        try:
            self.backend.open()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(f"cannot connect: {exc}", connection_lost=True) from exc
        smtp: smtplib.SMTP = self.backend.connection
        if not getattr(smtp, "_tsunagu_nodelay", False):
            # The end-of-data line is a write of its own: without this, Nagle's algorithm holds it until the
            # server acknowledges the content, a delayed ACK of ~40 ms per message.
            with contextlib.suppress(OSError, AttributeError):
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp._tsunagu_nodelay = True
        return smtp

    def _sender(self, from_email: str, encoding: str) -> str:
        key = (from_email, encoding)
        if key not in self._senders:  # the same few senders for every message: parse them once
            self._senders[key] = sanitize_address(from_email, encoding)
        return self._senders[key]

    def _send_smtp(self, message: EmailMessage, may_send: MaySend, hand_over: HandOver) -> bool:
        smtp = self._open()
        encoding = message.encoding or settings.DEFAULT_CHARSET
        from_email = self._sender(message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in message.recipients()]
        data = message_bytes(message)
        check = may_send()  # its answer is read after the first SMTP steps, so it costs no round trip
        in_transaction = False
        try:
            smtp.ehlo_or_helo_if_needed()
            options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
            code, reply = smtp.mail(from_email, options)
            in_transaction = True
            if code != 250:
                raise DeliveryError(f"sender refused: {code} {reply!r}", permanent=code >= 500)
            refused = {}
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, reply)
            if len(refused) == len(recipients):
                codes = [c for c, _r in refused.values()]
                raise DeliveryError(f"recipient refused: {refused!r}", permanent=all(c >= 500 for c in codes))
            code, reply = smtp.docmd("data")
            if code != 354:
                raise DeliveryError(f"data refused: {code} {reply!r}", permanent=code >= 500)
            content = _LEADING_DOT.sub(b"..", data)
            if not content.endswith(CRLF):
                content += CRLF
            smtp.send(content)
        except DeliveryError:
            check()
            if in_transaction:
                self._reset(smtp)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            check()
            self._drop()
            raise DeliveryError(f"{type(exc).__name__}: {exc}", connection_lost=True) from exc
        try:
            allowed = check()
        except Exception:
            self._drop()
            raise
        if not allowed:
            self._drop()  # no end of data: the server discards what it got
            return False

        started = time.perf_counter()
        try:
            confirm = hand_over()
        except Exception:
            self._drop()  # no record was made: the server must not get the end of data
            raise
        issued = time.perf_counter()  # the record has left this process
        try:
            smtp.send(b"." + CRLF)
            left = time.perf_counter()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            confirm()
            raise HandedOverUnconfirmed(f"{type(exc).__name__}: {exc}") from exc
        recorded = confirm()
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise HandedOverUnconfirmed(f"{type(exc).__name__}: {exc}") from exc
        if self.timings is not None:
            self.timings.record_to_end_of_data.append(left - issued)
            self.timings.to_answer.append(time.perf_counter() - started)
        if code != 250:
            raise DeliveryError(f"message refused: {code} {reply!r}", permanent=code >= 500)
        if not recorded:
            raise HandedOverUnconfirmed("delivered, but the hand-over was not recorded (the claim was lost)")
        return True

    def _reset(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()
