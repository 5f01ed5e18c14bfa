"""The API's answers to malformed requests: JSON, never Django's HTML error pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from customers.api import CustomerMergedAway


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = _("The request body is larger than %(limit)d bytes: send fewer items at a time.") % {"limit": limit}
        return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, CustomerMergedAway):
        return Response(exc.payload, status=exc.status_code, headers={"Location": exc.location})
    return drf_exception_handler(exc, context)
