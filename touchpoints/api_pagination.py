"""The API's cursor pagination (the touchpoint and ticket lists)."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination


class TimeCursorPagination(pagination.CursorPagination):
    """DRF's cursor pagination over a datetime ordering, answering a forged cursor with a 400.

    The cursor comes back from the client: DRF checks its offset but passes its position to the query as it is, where
    a position that is not a time raised a database error (a 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            cursor = False
        if cursor is False or (cursor is not None and cursor.position is not None and not _is_time(cursor.position)):
            raise exceptions.ValidationError({self.cursor_query_param: [_("This cursor is not one the API gave.")]})
        return cursor


def _is_time(value: str) -> bool:
    try:
        return "\x00" not in value and parse_datetime(value) is not None
    except ValueError:
        return False
