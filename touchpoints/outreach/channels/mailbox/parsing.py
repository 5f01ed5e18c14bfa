"""A raw mail as the fields Tsunagu uses: who, about what, answering which Message-IDs, the text, whether it is
automatic or a delivery report, and its attachments. Never raises on a malformed mail: what cannot be read is
left empty (the raw message is kept)."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32

from .charsets import decode
from .htmltext import html_to_text

_MSGID = re.compile(r"<[^<>\s]{1,250}>")
_ENCODED_WORD_GAP = re.compile(r"(\?=)\s+(=\?)")
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[\s_-]*(reply|response)|out of (the )?office|不在|自動応答|自動返信|autosvar|abwesenheit)",
    re.IGNORECASE,
)
MAX_PARTS = 200  # a mail of thousands of parts is read no further


@dataclass(frozen=True)
class Recipient:
    """One recipient of a delivery report: the address, its action (failed, delayed…) and status (5.1.1)."""

    address: str
    action: str
    status: str
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        return self.action.lower() == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class Bounce:
    recipients: tuple[Recipient, ...]
    original_message_id: str = ""


@dataclass(frozen=True)
class Part:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str = ""
    sender_name: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    date: dt.datetime | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""
    html_only: bool = False
    automatic: str = ""  # why it is automatic ("auto-submitted: auto-replied", "precedence: bulk"…), "" if not
    bounce: Bounce | None = None
    attachments: list[Part] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def answers(self) -> list[str]:
        """The Message-IDs this mail answers, the most direct first (In-Reply-To, then References newest first)."""
        seen, ordered = set(), []
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            if mid not in seen:
                seen.add(mid)
                ordered.append(mid)
        return ordered


def header_text(value) -> str:
    """A header as text: RFC 2047 encoded-words in any charset (ISO-2022-JP with Windows extensions too), raw
    8-bit UTF-8 or Shift_JIS, raw JIS escapes."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    raw = str(value)
    try:
        chunks = email.header.decode_header(_ENCODED_WORD_GAP.sub(r"\1\2", raw))
    except (email.errors.HeaderParseError, ValueError, LookupError):
        chunks = [(raw, None)]
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            try:
                chunk = chunk.encode("ascii", "surrogateescape")  # raw 8-bit bytes the parser carried as surrogates
            except UnicodeEncodeError:
                out.append(chunk)  # already text (an RFC 2231 file name, decoded by the parser)
                continue
        out.append(decode(chunk, charset))
    text = "".join(out)
    return " ".join(text.replace("\x00", "").split())


def _message_ids(value: str) -> list[str]:
    return [mid.lower() if mid.count("@") == 1 else mid for mid in _MSGID.findall(value or "")]


def normalize_message_id(value: str) -> str:
    found = _MSGID.findall(value or "")
    return found[0] if found else ""


def _address_list(values: list[str]) -> list[str]:
    return [addr.strip().lower() for _name, addr in email.utils.getaddresses(values) if "@" in addr]


def _date(value: str) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _payload_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if data is None:
        payload = part.get_payload()
        data = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
    return decode(data, part.get_content_charset()).replace("\r\n", "\n").replace("\r", "\n")


def _automatic(msg: Message, subject: str) -> str:
    """Why the mail was sent by a machine, "" when a person wrote it (RFC 3834 and the usual conventions)."""
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"auto-submitted: {auto[:40]}"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply", "auto-reply"):
        return f"precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if msg.get(name):
            return name.lower()
    suppress = (msg.get("X-Auto-Response-Suppress") or "").strip().lower()
    if suppress and any(word in suppress for word in ("oof", "autoreply", "all")) and _AUTO_SUBJECT.match(subject):
        return "x-auto-response-suppress"
    if (msg.get("X-MS-Exchange-Generated-Message-Source") or msg.get("X-MS-Exchange-Inbox-Rules-Loop")) and (
        _AUTO_SUBJECT.match(subject)
    ):
        return "exchange rule"
    if _AUTO_SUBJECT.match(subject):
        return "subject"
    return ""


def _bounce(msg: Message) -> Bounce | None:
    """A delivery report (RFC 3464 multipart/report; report-type=delivery-status)."""
    if msg.get_content_type() != "multipart/report":
        return None
    recipients: list[Recipient] = []
    original = ""
    for part in list(msg.walk())[:MAX_PARTS]:
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in part.get_payload() if part.is_multipart() else []:
                fields = {k.lower(): str(v) for k, v in block.items()}
                final = fields.get("final-recipient") or fields.get("original-recipient") or ""
                address = final.split(";", 1)[-1].strip().strip("<>").lower()
                if "@" in address:
                    recipients.append(
                        Recipient(
                            address=address,
                            action=fields.get("action", "").strip().lower(),
                            status=fields.get("status", "").strip().split()[0] if fields.get("status") else "",
                            diagnostic=" ".join(fields.get("diagnostic-code", "").split())[:500],
                        )
                    )
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers") and not original:
            if part.is_multipart():
                inner = part.get_payload()[0]
                original = normalize_message_id(inner.get("Message-ID", ""))
            else:
                data = part.get_payload(decode=True) or b""
                inner = email.message_from_bytes(data, policy=compat32)
                original = normalize_message_id(inner.get("Message-ID", ""))
    if not recipients:
        return None
    return Bounce(recipients=tuple(recipients), original_message_id=original)


def _filename(part: Message) -> str:
    name = part.get_filename()
    if name is None:
        name = part.get_param("name")
    if isinstance(name, tuple):  # RFC 2231: (charset, language, value)
        name = email.utils.collapse_rfc2231_value(name)
    name = header_text(name or "")
    return re.sub(r"[\x00-\x1f/\\]", "_", name)[:255]


def parse(raw: bytes) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=compat32)
    message_id = normalize_message_id(msg.get("Message-ID", ""))
    if not message_id:
        # No Message-ID: one derived from the bytes, so the same mail fetched twice is still one mail.
        message_id = f"<sha256.{hashlib.sha256(raw).hexdigest()[:48]}@tsunagu.invalid>"
    name, sender = email.utils.parseaddr(header_text(msg.get("From", "")))
    subject = header_text(msg.get("Subject", ""))
    parsed = ParsedMail(
        message_id=message_id,
        sender=sender.strip().lower() if "@" in sender else "",
        sender_name=name.strip()[:200],
        recipients=_address_list(
            [str(v) for h in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To") for v in msg.get_all(h, [])]
        ),
        subject=subject[:300],
        date=_date(msg.get("Date", "")),
        in_reply_to=_message_ids(str(msg.get("In-Reply-To", ""))),
        references=_message_ids(str(msg.get("References", ""))),
        headers={k.lower(): header_text(v)[:500] for k, v in list(msg.items())[:100]},
    )
    parsed.bounce = _bounce(msg)
    parsed.automatic = _automatic(msg, subject)
    plain: list[str] = []
    html: list[str] = []
    for index, part in enumerate(msg.walk()):
        if index >= MAX_PARTS:
            break
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        filename = _filename(part)
        if parsed.bounce is not None and ctype.startswith(("message/", "text/rfc822")):
            continue
        if (
            disposition == "attachment"
            or (filename and not ctype.startswith("text/"))
            or (not ctype.startswith(("text/", "multipart/", "message/")))
        ):
            data = part.get_payload(decode=True) or b""
            parsed.attachments.append(Part(filename=filename or f"attachment-{index}", content_type=ctype, data=data))
        elif ctype == "text/plain":
            plain.append(_payload_text(part))
        elif ctype == "text/html":
            html.append(_payload_text(part))
    if plain:
        parsed.text = "\n\n".join(text.strip("\n") for text in plain)
    elif html:
        parsed.text = "\n\n".join(html_to_text(text) for text in html)
        parsed.html_only = True
    parsed.text = parsed.text.replace("\x00", "").strip()
    return parsed
