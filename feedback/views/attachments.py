"""A file a customer mailed in, downloaded by staff who may read the ticket: always as a download
(``Content-Disposition: attachment``, ``nosniff``, a sandboxing CSP), never rendered, whatever its type."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from touchpoints.outreach.models import InboundAttachment

from ..models import TicketMessage
from .tickets import _get_ticket


@login_required
@permission_required("feedback.view_ticket", raise_exception=True)
@require_GET
def ticket_attachment(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    ticket = _get_ticket(pk)
    if attachment_pk > 2**63 - 1:
        raise Http404
    # Only a file of a mail that is on this ticket's conversation.
    mail_ids = TicketMessage.objects.filter(ticket=ticket, channel="email").exclude(external_id="")
    attachment = (
        InboundAttachment.objects.filter(
            pk=attachment_pk,
            refused_reason="",
            content__isnull=False,
            mail__message_id__in=mail_ids.values("external_id"),
        )
        .only("filename", "content")
        .first()
    )
    if attachment is None:
        raise Http404
    response = HttpResponse(bytes(attachment.content), content_type="application/octet-stream")
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename, safe='')}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
