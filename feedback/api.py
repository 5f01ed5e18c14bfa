"""The feedback API (``/api/v1/``): open a ticket from the website widget; read a customer's tickets.

The touchpoints API's authentication (``Authorization: Bearer <API key>``) and per-key throttling apply
(REST_FRAMEWORK defaults). Call it from the shop's server, never from the browser: an API key reads data.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api import customer_for_api
from customers.service_errors import api_errors
from touchpoints.api_pagination import TimeCursorPagination
from touchpoints.models import ApiScope

from . import services
from .models import Ticket
from .serializers import TicketInSerializer, TicketSerializer

HELD = {"status": "pending_confirmation"}


class TicketCreateView(APIView):
    required_scopes = (ApiScope.INGEST,)  # the website widget sends what a customer wrote, like a touchpoint

    @extend_schema(
        summary="Open a ticket (website widget)",
        request=TicketInSerializer,
        responses={
            201: OpenApiResponse(
                TicketSerializer, description="Opened (email_verified); the customer is mailed its reference."
            ),
            200: OpenApiResponse(TicketSerializer, description="Opened before under this idempotency key."),
            202: OpenApiResponse(
                description="Held until the sender confirms the address by the link mailed to it: "
                '{"status": "pending_confirmation"}; the ticket opens on confirmation.'
            ),
            400: OpenApiResponse(description="Per-field validation errors."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = TicketInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["email_verified"] and ApiScope.TICKETS_VERIFIED not in (request.auth.scopes or []):
            return Response(
                {"email_verified": [_("This API key may not vouch for addresses (scope tickets:verified).")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not data["email_verified"]:
            return self._hold(request, data)
        try:
            ticket = services.feedback_submit(
                name=data["name"],
                email=data["email"],
                kind=data["kind"],
                message=data["message"],
                subject=data["subject"],
                order_reference=data["order_reference"],
                language=data["language"],
                channel=Ticket.Channel.WIDGET,
                idempotency_key=data["idempotency_key"],
            )
        except DjangoValidationError as exc:
            return Response(api_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_200_OK if getattr(ticket, "replayed", False) else status.HTTP_201_CREATED
        return Response(TicketSerializer(ticket).data, status=code)

    def _hold(self, request: Request, data: dict) -> Response:
        """Held until the address is confirmed, as the public form's messages (feedback_submit_pending): whoever
        holds a key could otherwise attach a ticket to any customer by typing their email. A retry with the same
        idempotency key within a day holds nothing more (nor mails the link twice)."""
        retry_key = ""
        if data["idempotency_key"]:
            digest = hashlib.sha256(data["idempotency_key"].encode()).hexdigest()
            retry_key = f"feedback:widget-held:{request.auth.pk}:{digest}"
            if cache.get(retry_key):
                return Response(HELD, status=status.HTTP_202_ACCEPTED)
        try:
            services.feedback_submit_pending(
                name=data["name"],
                email=data["email"],
                kind=data["kind"],
                message=data["message"],
                language=data["language"],
                order_reference=data["order_reference"],
            )
        except DjangoValidationError as exc:
            return Response(api_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        if retry_key:
            cache.set(retry_key, True, timeout=24 * 3600)
        return Response(HELD, status=status.HTTP_202_ACCEPTED)


class TicketCursorPagination(TimeCursorPagination):
    ordering = ("-created_at", "-id")
    max_page_size = 200


@extend_schema(summary="A customer's tickets, newest first")
class CustomerTicketListView(generics.ListAPIView):
    required_scopes = (ApiScope.READ,)
    serializer_class = TicketSerializer
    pagination_class = TicketCursorPagination

    def get_queryset(self):
        customer = customer_for_api(self.request, self.kwargs["pk"])
        return Ticket.objects.for_customer(customer).for_api()
