"""The customers API (``/api/v1/customers/``): create or update a customer from another system.

Authentication, permission and the rate limit are DRF's defaults (settings: an API key per client system,
``Authorization: Bearer <key>``), so this app names none of them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
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


BIGINT_MAX = 2**63 - 1


class CustomerMergedAway(APIException):
    """The customer in the URL was merged into another: a 301 to the same resource of the kept customer, with a
    body that says so (``merged_into``), instead of a bare 404 a client would take for a deleted customer."""

    status_code = status.HTTP_301_MOVED_PERMANENTLY
    default_code = "customer_merged"

    def __init__(self, *, merged_into: int, location: str) -> None:
        self.location = location
        detail = _("This customer was merged into customer %(id)s.") % {"id": merged_into}
        # The answer's body as is (APIException's detail would turn the id into a string).
        self.payload = {"detail": detail, "code": "customer_merged", "merged_into": merged_into, "location": location}
        super().__init__(detail)


def customer_for_api(request: Request, pk: int) -> Customer:
    """The customer of ``/api/v1/customers/<pk>/…`` (only its id loaded); raises 404 for none, and
    ``CustomerMergedAway`` for a customer merged into another."""
    pk = pk if pk <= BIGINT_MAX else 0
    customer = Customer.objects.only("pk").filter(pk=pk).first()
    if customer is not None:
        return customer
    target = Customer.objects.surviving(pk).values_list("pk", flat=True).first() if pk else None
    if target is None:
        raise NotFound()
    match = request.resolver_match
    view_name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
    location = reverse(view_name, kwargs={**match.kwargs, "pk": target})
    raise CustomerMergedAway(merged_into=target, location=request.build_absolute_uri(location))
