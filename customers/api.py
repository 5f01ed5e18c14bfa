"""The customers API (``/api/v1/customers/``): create or update a customer from another system.

Authentication, permission and the rate limit are DRF's defaults (settings: an API key per client system,
``Authorization: Bearer <key>``), so this app names none of them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import Customer
from .serializers import CustomerSerializer, CustomerUpsertSerializer
from .service_errors import api_errors

RATE_LIMITED = OpenApiResponse(
    description="Too many requests with this key (TSUNAGU_API_RATE_LIMIT, 600 a minute by default): wait for the "
    "seconds in the Retry-After header."
)


class CustomerUpsertView(APIView):
    @extend_schema(
        summary="Create or update a customer",
        request=CustomerUpsertSerializer,
        responses={
            201: OpenApiResponse(CustomerSerializer, description="Created."),
            200: OpenApiResponse(CustomerSerializer, description="Updated (found by external_id or email)."),
            400: OpenApiResponse(description="Per-field validation errors."),
            429: RATE_LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = CustomerUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.get("marketing_consent") and not data.get("consent_source"):
            data["consent_source"] = Customer.ConsentSource.API  # consent given through the API is recorded as such
        try:
            customer, created = services.customer_upsert(
                data=data, create_defaults={"source": Customer.Source.API}, by=None
            )
        except DjangoValidationError as exc:
            return Response(api_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            CustomerSerializer(customer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
