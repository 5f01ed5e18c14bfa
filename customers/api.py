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
from .serializers import CONSENT_HELP, CustomerUpsertResultSerializer, CustomerUpsertSerializer
from .service_errors import api_errors

RATE_LIMITED = OpenApiResponse(
    description="Too many requests with this key (TSUNAGU_API_RATE_LIMIT, 600 a minute by default): wait for the "
    "seconds in the Retry-After header."
)


class CustomerUpsertView(APIView):
    required_scopes = ("customers:write",)  # ApiScope values (touchpoints.models), checked by the default permission

    @extend_schema(
        summary="Create or update a customer",
        description=(
            "Found by `external_id`, else by `email`; created when neither matches. The answer holds the customer's "
            "`id` and the fields you sent, as stored: never the rest of a profile you only named. " + CONSENT_HELP
        ),
        request=CustomerUpsertSerializer,
        responses={
            201: OpenApiResponse(CustomerUpsertResultSerializer, description="Created."),
            200: OpenApiResponse(
                CustomerUpsertResultSerializer, description="Updated (found by external_id or email)."
            ),
            400: OpenApiResponse(description="Per-field validation errors."),
            429: RATE_LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = CustomerUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            customer, created = services.customer_upsert(
                data=data, create_defaults={"source": Customer.Source.API}, by=None, consent_frozen=True
            )
        except DjangoValidationError as exc:
            return Response(api_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        body = CustomerUpsertResultSerializer(customer, context={"sent": data}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
