"""A service's ValidationError shown where the caller is: on the form that called it, or in an API response.

Services raise ``ValidationError({"field": [...]})`` or a plain one; every view and API endpoint of every app turns it
into the same shape through these two functions.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put ``exc``'s messages on ``form``: on the field they name when the form has it, else on the whole form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def api_errors(exc: ValidationError) -> dict[str, list[str]]:
    """``exc`` as DRF shapes its own errors: per field, with ``non_field_errors`` for the rest."""
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}
