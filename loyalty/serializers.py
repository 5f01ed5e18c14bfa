"""The loyalty API's request and response shapes. Serializers validate; the services write."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Membership, Redemption

BIGINT_MAX = 2**63 - 1


class MembershipSerializer(serializers.ModelSerializer):
    programme = serializers.CharField(source="programme.name", read_only=True)
    programme_id = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(source="programme.currency", read_only=True)
    tier = serializers.CharField(source="tier.name", read_only=True, default=None)
    expiring_soon = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Membership
        fields = [
            "id",
            "member_number",
            "programme_id",
            "programme",
            "currency",
            "status",
            "tier",
            "balance",
            "lifetime_points",
            "expiring_soon",
            "referral_code",
            "joined_at",
        ]
        read_only_fields = fields


class RedemptionInSerializer(serializers.Serializer):
    """Name the membership by ``membership_id`` or ``member_number``, and the reward by its id."""

    membership_id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, required=False)
    member_number = serializers.CharField(max_length=20, required=False)
    reward_id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    idempotency_key = serializers.CharField(
        max_length=150,
        required=False,
        help_text=_("Send the same key when you retry: the points are spent once. Or the Idempotency-Key header."),
    )

    def validate(self, attrs):
        if bool(attrs.get("membership_id")) == bool(attrs.get("member_number")):
            raise serializers.ValidationError(
                {"membership": [_("Give exactly one of membership_id or member_number.")]}
            )
        return attrs


class RedemptionSerializer(serializers.ModelSerializer):
    membership_id = serializers.IntegerField(read_only=True)
    member_number = serializers.CharField(source="membership.member_number", read_only=True)
    reward_id = serializers.IntegerField(read_only=True)
    reward = serializers.CharField(source="reward.name", read_only=True)
    balance = serializers.IntegerField(source="membership.balance", read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id",
            "membership_id",
            "member_number",
            "reward_id",
            "reward",
            "points",
            "voucher_code",
            "status",
            "balance",
            "created_at",
        ]
        read_only_fields = fields
