"""The API's JSON parser: DRF's, refusing text that holds a lone surrogate.

JSON may spell one (``"\\ud800"``), and Python decodes it into a string that cannot be encoded as UTF-8 again: an
error message quoting it, a JSON answer holding it, or a write of it to PostgreSQL raised an exception (a 500)
where the client had sent a bad value (a 400). Escaped pairs (an emoji as ``"\\ud83d\\ude00"``) decode into one
character and pass."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (decoded JSON) holds a surrogate, which only a lone one can be."""
    kind = type(value)
    if kind is str:
        return _SURROGATE.search(value) is not None
    if kind is dict:
        return any(has_lone_surrogate(key) or has_lone_surrogate(item) for key, item in value.items())
    if kind is list:
        return any(map(has_lone_surrogate, value))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if has_lone_surrogate(data):
            raise ParseError(_("JSON parse error - a string holds a lone surrogate (\\ud800 to \\udfff)."))
        return data
