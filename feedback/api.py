"""The feedback API (``/api/v1/``): open a ticket from the website widget; read a customer's tickets.

The touchpoints API's authentication (``Authorization: Bearer <API key>``) and per-key throttling apply
(REST_FRAMEWORK defaults). Call it from the shop's server, never from the browser: an API key reads data.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
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


class TicketCreateView(APIView):
    required_scopes = (ApiScope.INGEST,)  # the website widget sends what a customer wrote, like a touchpoint

    @extend_schema(
        summary="Open a ticket (website widget)",
        request=TicketInSerializer,
        responses={
            201: OpenApiResponse(TicketSerializer, description="Opened; the customer is mailed its reference."),
            200: OpenApiResponse(TicketSerializer, description="Opened before under this idempotency key."),
            400: OpenApiResponse(description="Per-field validation errors."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = TicketInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
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
