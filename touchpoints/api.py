"""The journey's ingest API (``/api/v1/``): record touchpoints one at a time or in batches, list them.
(Customers are upserted by ``customers.api``.)

Every endpoint needs an API key (``Authorization: Bearer <key>``) and is rate limited per key. Validation
errors answer 400 with per-field messages; a batch with bad items records none and names each one.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api import RATE_LIMITED, customer_for_api
from customers.models import Customer
from customers.service_errors import api_errors

from . import services
from .api_pagination import TimeCursorPagination
from .models import ApiScope, Touchpoint, TouchpointType
from .serializers import (
    TouchpointBatchInSerializer,
    TouchpointBatchSerializer,
    TouchpointInSerializer,
    TouchpointSerializer,
    touchpoint_data,
    touchpoint_ref,
)

TouchpointRequest = PolymorphicProxySerializer(
    component_name="TouchpointRequest",
    serializers=[TouchpointInSerializer, TouchpointBatchInSerializer],
    resource_type_field_name=None,
)
TouchpointResponse = PolymorphicProxySerializer(
    component_name="TouchpointResponse",
    serializers=[TouchpointSerializer, TouchpointBatchSerializer],
    resource_type_field_name=None,
)


TOUCHPOINT_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description=(
        "Invalid; nothing was recorded. One touchpoint: its fields' messages. A batch: `detail`, and `errors` "
        "naming each bad item by its index with its fields' messages."
    ),
    examples=[
        OpenApiExample(
            "One touchpoint",
            value={
                "type": ["This field is required."],
                "customer": ["Give exactly one of customer_id, customer_external_id or customer_email."],
            },
            response_only=True,
            status_codes=["400"],
        ),
        OpenApiExample(
            "A batch",
            value={
                "detail": "2 of 1000 touchpoints are invalid; none were recorded.",
                "errors": [
                    {"index": 3, "errors": {"customer": ["Unknown customer."]}},
                    {"index": 17, "errors": {"occurred_at": ["A touchpoint cannot happen in the future."]}},
                ],
            },
            response_only=True,
            status_codes=["400"],
        ),
    ],
)


class TouchpointCreateView(APIView):
    required_scopes = (ApiScope.INGEST,)

    @extend_schema(
        summary="Record a touchpoint, or a batch of up to 1,000",
        description=(
            'Send one touchpoint, or `{"touchpoints": [...]}`. A batch is all-or-nothing: when an item is '
            "invalid nothing is recorded and the answer names each bad item by its index. An item whose "
            "`idempotency_key` was recorded before is not recorded again: you get the first touchpoint back, "
            "and 200 instead of 201 when nothing new was recorded. A batch with 100 or more touchpoints that move "
            "customers along the journey is answered once they are stored; their stages are advanced by a task right "
            "after (usually within a second), in the order the touchpoints happened."
        ),
        request=TouchpointRequest,
        responses={
            201: OpenApiResponse(TouchpointResponse, description="Recorded."),
            200: OpenApiResponse(TouchpointResponse, description="Recorded before (idempotent retry)."),
            400: TOUCHPOINT_ERRORS,
            429: RATE_LIMITED,
        },
    )
    def post(self, request: Request) -> Response:
        payload = request.data
        is_batch = isinstance(payload, dict) and "touchpoints" in payload
        if is_batch:
            raw_items = payload["touchpoints"]
            if not isinstance(raw_items, list):
                return Response({"touchpoints": [_("Expected a list of touchpoints.")]}, status=400)
            if not raw_items:
                return Response({"touchpoints": [_("The batch is empty.")]}, status=400)
            if len(raw_items) > services.BATCH_MAX:
                return Response(
                    {"touchpoints": [_("A batch holds at most %(n)d touchpoints.") % {"n": services.BATCH_MAX}]},
                    status=400,
                )
        else:
            raw_items = [payload]

        errors: dict[int, dict[str, Any]] = {}
        valid: list[tuple[int, dict[str, Any]]] = []
        validator = TouchpointInSerializer()  # one instance for every item: DRF copies its fields per instance
        for index, raw in enumerate(raw_items):
            data = validator.quick_validation(raw)  # a valid item, cheaply; else DRF's walk, for the errors
            if data is not None:
                valid.append((index, data))
                continue
            try:
                valid.append((index, validator.run_validation(raw)))
            except serializers.ValidationError as exc:
                errors[index] = serializers.as_serializer_error(exc)
        items = self._resolve(valid, errors)
        if errors:
            return self._invalid(errors, is_batch=is_batch, total=len(raw_items))
        try:
            touchpoints = services.touchpoint_record_batch(items=items, api_key=request.auth, defer_journeys=True)
        except services.TouchpointBatchInvalid as exc:
            return self._invalid(exc.errors, is_batch=is_batch, total=len(raw_items))
        except DjangoValidationError as exc:
            return Response(api_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        created = sum(1 for t in touchpoints if not t.replayed)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        if not is_batch:
            return Response(touchpoint_data(touchpoints[0]), status=code)
        body = {
            "touchpoints": [touchpoint_ref(t) for t in touchpoints],
            "created": created,
            "replayed": len(touchpoints) - created,
        }
        return Response(body, status=code)

    @staticmethod
    def _resolve(
        valid: list[tuple[int, dict[str, Any]]], errors: dict[int, dict[str, Any]]
    ) -> list[services.TouchpointData]:
        """Customers and types of every item in four queries at most; unknown ones become item errors.

        Customers named by id are checked here only when the batch has other errors, so that the answer names every
        bad item; otherwise ``touchpoint_record_batch`` checks them as it locks them (one query, not two)."""
        external_ids = {d["customer_external_id"] for _i, d in valid if d.get("customer_external_id")}
        emails = {d["customer_email"].strip().lower() for _i, d in valid if d.get("customer_email")}
        by_external = (
            dict(Customer.objects.filter(external_id__in=external_ids).values_list("external_id", "pk"))
            if external_ids
            else {}
        )
        by_email = (
            dict(
                Customer.objects.annotate(email_lower=Lower("email"))
                .filter(email_lower__in=emails)
                .values_list("email_lower", "pk")
            )
            if emails
            else {}
        )
        slugs = {d["type"] for _i, d in valid}
        types = {t.slug: t for t in TouchpointType.objects.filter(slug__in=slugs)} if slugs else {}
        items: list[services.TouchpointData] = []
        for index, data in valid:
            item_errors: dict[str, list[str]] = {}
            if data.get("customer_id"):
                customer_id = data["customer_id"]
            elif data.get("customer_external_id"):
                customer_id = by_external.get(data["customer_external_id"])
            else:
                customer_id = by_email.get(data["customer_email"].strip().lower())
            if customer_id is None:
                item_errors["customer"] = [_("Unknown customer.")]
            touchpoint_type = types.get(data["type"])
            if touchpoint_type is None:
                item_errors["type"] = [_("Unknown touchpoint type.")]
            if item_errors:
                errors[index] = item_errors
                continue
            items.append(
                services.TouchpointData(
                    customer_id=customer_id,
                    touchpoint_type=touchpoint_type,
                    channel=data["channel"],
                    direction=data["direction"],
                    occurred_at=data.get("occurred_at"),
                    summary=data["summary"],
                    amount=data["amount"],
                    currency=data["currency"],
                    order_reference=data["order_reference"],
                    campaign=data["campaign"],
                    utm_source=data["utm_source"],
                    metadata=data["metadata"],
                    idempotency_key=data["idempotency_key"],
                )
            )
        if errors:
            by_id = [(index, data["customer_id"]) for index, data in valid if data.get("customer_id")]
            known = Customer.objects.existing_ids(customer_id for _index, customer_id in by_id)
            for index, customer_id in by_id:
                if customer_id not in known:
                    errors.setdefault(index, {})["customer"] = [_("Unknown customer.")]
        return items

    @staticmethod
    def _invalid(errors: dict[int, dict[str, Any]], *, is_batch: bool, total: int) -> Response:
        if not is_batch:
            return Response(errors[0], status=status.HTTP_400_BAD_REQUEST)
        body = {
            "detail": _("%(bad)d of %(total)d touchpoints are invalid; none were recorded.")
            % {"bad": len(errors), "total": total},
            "errors": [{"index": index, "errors": errors[index]} for index in sorted(errors)],
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)


class TouchpointCursorPagination(TimeCursorPagination):
    ordering = ("-occurred_at", "-id")


@extend_schema(
    summary="A customer's touchpoints, newest first",
    description="Paged by cursor. Rate limited per key like every endpoint: 429 with Retry-After.",
)
class CustomerTouchpointListView(generics.ListAPIView):
    required_scopes = (ApiScope.READ,)
    serializer_class = TouchpointSerializer
    pagination_class = TouchpointCursorPagination

    def get_queryset(self):
        customer = customer_for_api(self.request, self.kwargs["pk"])
        return Touchpoint.objects.for_customer(customer).for_api()
