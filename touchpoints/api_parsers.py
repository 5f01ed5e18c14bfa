"""The API's JSON parser: DRF's, refusing text that holds a lone surrogate.

JSON may spell one (``"\\ud800"``), and Python decodes it into a string that cannot be encoded as UTF-8 again: an
error message quoting it, a JSON answer holding it, or a write of it to PostgreSQL raised an exception (a 500)
where the client had sent a bad value (a 400). Escaped pairs (an emoji as ``"\\ud83d\\ude00"``) decode into one
character and pass.

A lone surrogate can only arrive spelled as an escape (UTF-8 cannot carry one: its bytes fail to decode), so the
decoded data is searched only when the UTF-8 body holds such an escape; a batch of 1,000 touchpoints otherwise paid
a walk over every string in it."""

from __future__ import annotations

import codecs
import io
import re
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # may also match text that merely looks like one: then we search


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
        body = stream.read()
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # The C decoder gives up at Python's recursion limit; nothing we accept nests that deep.
            raise ParseError(_("JSON parse error - nested too deep.")) from None
        encoding = parsers.get_encoding(parser_context or {})
        may_hold_one = codecs.lookup(encoding).name != "utf-8" or _SURROGATE_ESCAPE.search(body) is not None
        if may_hold_one and has_lone_surrogate(data):
            raise ParseError(_("JSON parse error - a string holds a lone surrogate (\\ud800 to \\udfff)."))
        return data
