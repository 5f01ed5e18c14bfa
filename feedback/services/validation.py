"""Limits and checks shared by the feedback services' inputs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SUBJECT_MAX = 200
BODY_MAX = 10_000
COMMENT_MAX = 2_000
NAME_MAX = 100
ORDER_REFERENCE_MAX = 100
BULK_MAX = 500


def _text(value: Any, *, name: str, limit: int, required: bool = False, single_line: bool = False) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").strip()
    if single_line:
        text = " ".join(text.split())
    if "\x00" in text:
        raise ValidationError({name: _("Null characters are not allowed.")})
    if required and not text:
        raise ValidationError({name: _("This field is required.")})
    if len(text) > limit:
        raise ValidationError({name: _("Keep this to %(limit)d characters.") % {"limit": limit}})
    return text


def _choice(value: str, choices: Iterable[str], *, name: str) -> str:
    if value not in set(choices):
        raise ValidationError({name: _("Unknown value.")})
    return value


def _check_assignee(assignee: AbstractBaseUser | None) -> None:
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError({"assignee": _("Tickets are assigned to active staff members only.")})
