"""A service's ValidationError shown on the form that called it."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def apply_form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def form_error_text(form) -> str:
    return " ".join(" ".join(errors) for errors in form.errors.values())
