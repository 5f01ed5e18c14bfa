"""The photo a public-form message may carry: its size and type checked by its bytes (not by the name or the
browser's word), kept privately, moved to the ticket when the address is confirmed, forgotten with the message."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..submissions import FeedbackPhoto, PendingSubmission

logger = logging.getLogger(__name__)

# Magic numbers of the accepted types: a file is what its first bytes say, whatever its name.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def photo_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an accepted image by its first bytes, else None."""
    for magic, content_type, ext in _SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"heim", b"heis"):
        return "image/heic", "heic"  # iPhone photos
    return None


def photo_check(upload: Any) -> tuple[str, str]:
    """Refuse a photo too large or not an image; returns (content type, extension). With Pillow installed, a
    JPEG/PNG/WebP is also verified by it (a script renamed .jpg fails the first check either way)."""
    limit = settings.TSUNAGU_FEEDBACK_PHOTO_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"photo": _("The photo is too large: at most %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)}}
        )
    upload.seek(0)
    found = photo_type(upload.read(16))
    upload.seek(0)
    if found is None:
        raise ValidationError({"photo": _("Send a photo as JPEG, PNG, WebP or HEIC.")})
    if found[0] != "image/heic":
        try:
            from PIL import Image  # optional: not a dependency
        except ImportError:
            Image = None
        if Image is not None:
            try:
                with Image.open(upload) as image:
                    image.verify()
            except Exception as exc:  # Pillow raises many kinds for a broken file
                raise ValidationError({"photo": _("This photo cannot be read.")}) from exc
            finally:
                upload.seek(0)
    return found


def photo_attach_pending(*, pending: PendingSubmission, upload: Any) -> FeedbackPhoto:
    content_type, ext = photo_check(upload)
    photo = FeedbackPhoto(pending=pending, content_type=content_type, size=upload.size)
    # The stored name is ours: nothing the sender typed (their file name may hold their name) reaches the disk.
    photo.file.save(f"form-{pending.pk}.{ext}", upload, save=False)
    photo.save()
    return photo


def photos_move_to_ticket(*, pending: PendingSubmission, ticket: Any) -> int:
    return FeedbackPhoto.objects.filter(pending=pending, ticket__isnull=True).update(ticket=ticket)


def photos_forget_pending(pending_ids: list[int]) -> int:
    """Delete the files of held messages never confirmed (called before the messages are purged)."""
    photos = list(FeedbackPhoto.objects.filter(pending_id__in=pending_ids, ticket__isnull=True))
    for photo in photos:
        photo.file.delete(save=False)
        photo.delete()
    return len(photos)
