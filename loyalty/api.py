"""Loyalty's part of ``/api/v1/``: a customer's memberships and balances, and redemptions (idempotent).

Same authentication, permissions and rate limits as the ingest API (REST_FRAMEWORK's defaults: an API key
sent as ``Authorization: Bearer <key>``).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api import customer_for_api
from customers.service_errors import api_errors
from touchpoints.models import ApiScope

from . import services
from .models import LedgerEntry, Membership, Redemption, Reward
from .panels import EXPIRING_SOON_DAYS
from .serializers import MembershipSerializer, RedemptionInSerializer, RedemptionSerializer

BIGINT_MAX = 2**63 - 1


class CustomerMembershipListView(APIView):
    required_scopes = (ApiScope.LOYALTY,)

    @extend_schema(
        summary="A customer's loyalty memberships and balances",
        responses={200: MembershipSerializer(many=True), 404: OpenApiResponse(description="No such customer.")},
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = customer_for_api(request, pk)
        memberships = list(Membership.objects.for_customer(customer).select_related("programme", "tier"))
        soon = services.local_today() + dt.timedelta(days=EXPIRING_SOON_DAYS)
        expiring = dict(
            LedgerEntry.objects.filter(membership__in=memberships, remaining__gt=0, expires_on__lte=soon)
            .order_by()
            .values("membership_id")
            .annotate(n=Sum("remaining"))
            .values_list("membership_id", "n")
        )
        for m in memberships:
            m.expiring_soon = expiring.get(m.pk, 0)
        return Response(MembershipSerializer(memberships, many=True).data)


class RedemptionCreateView(APIView):
    required_scopes = (ApiScope.LOYALTY,)

    @extend_schema(
        summary="Redeem a reward (idempotent)",
        description=(
            "Spends the reward's points and issues a voucher code. Send an idempotency key (in the body or the "
            "`Idempotency-Key` header): a retry with the same key returns the first redemption with 200 and "
            "spends nothing. 409 when the balance or the stock is short."
        ),
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        request=RedemptionInSerializer,
        responses={
            201: OpenApiResponse(RedemptionSerializer, description="Redeemed."),
            200: OpenApiResponse(RedemptionSerializer, description="Redeemed before under this key."),
            400: OpenApiResponse(description="Per-field validation errors."),
            409: OpenApiResponse(description="Not enough points, or out of stock."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = RedemptionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = data.get("idempotency_key") or request.headers.get("Idempotency-Key", "")
        if not key or len(key) > 150 or not key.isprintable():
            return Response(
                {"idempotency_key": [_("Send an idempotency key of 1 to 150 printable characters.")]}, status=400
            )
        lookup = Q(pk=data["membership_id"]) if data.get("membership_id") else Q(member_number=data["member_number"])
        membership = Membership.objects.filter(lookup).first()
        if membership is None:
            return Response({"membership": [_("No such membership.")]}, status=400)
        reward = Reward.objects.filter(pk=data["reward_id"]).first()
        if reward is None:
            return Response({"reward_id": [_("No such reward.")]}, status=400)
        try:
            redemption = services.points_redeem(
                membership=membership,
                reward=reward,
                key=f"api:{request.auth.pk}:{key}",
                source=Redemption.Source.API,
            )
        except (services.InsufficientPoints, services.OutOfStock) as exc:
            return Response(api_errors(exc), status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            return Response(api_errors(exc), status=status.HTTP_400_BAD_REQUEST)
        replayed = redemption.replayed
        redemption = Redemption.objects.select_related("membership", "reward").get(pk=redemption.pk)
        return Response(
            RedemptionSerializer(redemption).data, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
        )
