"""The customers API's request and response bodies (``/api/v1/customers/``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .fields import API_READ_FIELDS
from .models import Customer
from .phones import normalize_phone


class CustomerUpsertSerializer(serializers.Serializer):
    """A customer to create or update, found by ``external_id`` first, then by ``email`` (ignoring case).

    Only the fields sent are changed. ``family_name`` is needed to create a customer.
    """

    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=100, required=False)
    given_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    family_name_kana = serializers.CharField(max_length=100, required=False, allow_blank=True)
    given_name_kana = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=16, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = serializers.CharField(
        max_length=2,
        required=False,
        validators=[RegexValidator(r"^[A-Za-z]{2}$", _("Enter an ISO 3166 code, e.g. JP."))],
    )
    preferred_channel = serializers.ChoiceField(choices=Customer.Channel.choices, required=False)
    preferred_language = serializers.ChoiceField(choices=Customer.Language.choices, required=False)
    source = serializers.ChoiceField(choices=Customer.Source.choices, required=False)
    marketing_consent = serializers.BooleanField(required=False)
    consent_source = serializers.ChoiceField(choices=Customer.ConsentSource.choices, required=False, allow_blank=True)
    consent_evidence = serializers.CharField(max_length=300, required=False, allow_blank=True)
    do_not_contact = serializers.BooleanField(required=False)

    def validate_phone(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, attrs):
        if not (attrs.get("external_id") or "").strip() and not (attrs.get("email") or "").strip():
            raise serializers.ValidationError(
                {"external_id": [_("Give an external ID or an email to find or create the customer.")]}
            )
        return attrs


class CustomerSerializer(serializers.ModelSerializer):
    last_activity_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Customer
        fields = API_READ_FIELDS
        read_only_fields = fields
