"""A form's errors as one line, for a message shown on the page the form was posted from."""

from __future__ import annotations

from django import forms


def form_error_text(form: forms.BaseForm) -> str:
    return " ".join(" ".join(errors) for errors in form.errors.values())
