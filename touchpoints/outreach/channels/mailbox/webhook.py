"""Inbound mail pushed by a mail provider (django-anymail's inbound webhooks: Mailgun, Postmark, SendGrid,
Amazon SES, Brevo, Mailjet…, at ``/anymail/<provider>/inbound/``). Anymail checks the provider's signature (and
the ``WEBHOOK_SECRET`` basic auth) before this runs; the mail is then stored once and processed exactly as a
fetched one (``ingest``). A provider that redelivers finds it stored (unique Message-ID)."""

from __future__ import annotations

import logging
from typing import Any

from .ingest import mail_process, mail_store
from .models import Mailbox
from .parsing import parse

logger = logging.getLogger(__name__)


def _mailbox_for(addresses: list[str]) -> Mailbox | None:
    """The mailbox the mail was sent to (``support+t12-…@`` is ``support@``); None: the support default."""
    bases = set()
    for address in addresses:
        local, _sep, domain = address.lower().partition("@")
        bases.add(f"{local.split('+', 1)[0]}@{domain}")
    for mailbox in Mailbox.objects.filter(is_active=True):
        if mailbox.address.lower() in bases:
            return mailbox
    return None


def on_anymail_inbound(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """anymail.signals.inbound's receiver (connected in OutreachConfig.ready)."""
    message = event.message
    if message is None:
        return
    try:
        raw = message.as_bytes()
    except Exception:  # noqa: BLE001 (a header the email package cannot write back: keep it as text)
        raw = str(message).encode("utf-8", "surrogateescape")
    parsed = parse(raw)
    recipients = list(parsed.recipients)
    if getattr(message, "envelope_recipient", None):
        recipients.append(str(message.envelope_recipient))
    mail, created = mail_store(raw=raw, mailbox=_mailbox_for(recipients), parsed=parsed)
    status = mail_process(mail_id=mail.pk, parsed=parsed)
    logger.info("inbound mail by webhook esp=%s mail=%s stored=%s status=%s", esp_name, mail.pk, created, status)
