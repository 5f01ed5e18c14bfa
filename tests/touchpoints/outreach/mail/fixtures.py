"""The mail fixtures (tests/fixtures/mail/, written by its build.py) and small edits tests make to them."""

from __future__ import annotations

from pathlib import Path

MAIL_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "mail"


def fixture(name: str) -> bytes:
    return (MAIL_DIR / name).read_bytes()


def with_headers(raw: bytes, **headers: str) -> bytes:
    """``raw`` with headers replaced or added (``In_Reply_To="<x>"`` → ``In-Reply-To: <x>``)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for key, value in headers.items():
        name = key.replace("_", "-").encode()
        lines = [line for line in lines if not line.lower().startswith(name.lower() + b":")]
        lines.append(name + b": " + value.encode())
    return b"\r\n".join(lines) + sep + body


def plain_mail(
    *, sender: str, subject: str, body: str, message_id: str, to: str = "support@tsunagu.example", **headers: str
) -> bytes:
    from email.header import Header

    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: Mon, 7 Dec 2026 10:00:00 +0900\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body.replace("\n", "\r\n").encode()
    return with_headers(raw, **headers) if headers else raw
