"""API keys: created and shown once, stored as their SHA-256, revoked, looked up, marked used."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from touchpoints.models import ApiKey, ApiScope

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "tsu_"


def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, scopes: Iterable[str], by: AbstractBaseUser | None) -> tuple[ApiKey, str]:
    """A new key from 32 random bytes, allowed ``scopes`` (``ApiScope`` values, at least one: a key does only what it
    was made for). Returns the row and the key, which is shown once and never stored."""
    chosen = set(scopes or ())
    if not chosen:
        raise ValidationError({"scopes": _("Choose what the key may do.")})
    if unknown := chosen - set(ApiScope.values):
        raise ValidationError({"scopes": _("Unknown scope: %(s)s.") % {"s": ", ".join(sorted(unknown))}})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the key a name, e.g. the system that will use it.")})
    if len(name) > 100:
        raise ValidationError({"name": _("Keep the name to 100 characters.")})
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name,
        prefix=raw[:12],
        key_hash=api_key_hash(raw),
        created_by=by,
        scopes=[s for s in ApiScope.values if s in chosen],
    )
    logger.info(
        "api key created id=%s prefix=%s scopes=%s by=%s",
        api_key.pk,
        api_key.prefix,
        ",".join(api_key.scopes),
        getattr(by, "pk", None),
    )
    return api_key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: AbstractBaseUser | None) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    logger.info("api key revoked id=%s by=%s", api_key.pk, getattr(by, "pk", None))
    return api_key


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or None. Looked up by its SHA-256, so the key itself is never compared."""
    if not raw or len(raw) > 200 or not raw.startswith(API_KEY_PREFIX):
        return None
    api_key = ApiKey.objects.filter(key_hash=api_key_hash(raw)).first()
    if api_key is None or api_key.revoked_at is not None:
        return None
    return api_key


LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def api_key_mark_used(*, api_key: ApiKey) -> None:
    """Record the key's use, at most once a minute (so a busy client does not write on every request)."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
