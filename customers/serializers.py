"""The customers API's request and response bodies (``/api/v1/customers/``)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Customer
from .phones import normalize_phone

CONSENT_HELP = (
    "Consent is recorded only for a customer the request creates, and only with its proof: `consent_source` and "
    "`consent_at` (when the customer agreed). For an existing customer the consent fields (`marketing_consent`, "
    "`consent_source`, `consent_at`, `consent_evidence`, `do_not_contact`) may only repeat what is recorded: a change "
    "is refused (400), since consent is given or withdrawn only by the customer (a form, an unsubscribe link) or a "
    "staff member."
)
CONSENT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
API_CONSENT_SOURCES = [(value, label) for value, label in Customer.ConsentSource.choices if value != "unsubscribe"]


class CustomerUpsertSerializer(serializers.Serializer):
    """A customer to create or update, found by ``external_id`` first, then by ``email`` (ignoring case).

    Only the fields sent are changed. ``family_name`` is needed to create a customer. At least one of
    ``external_id`` and ``email`` is needed.
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
    marketing_consent = serializers.BooleanField(required=False, help_text=CONSENT_HELP)
    # "unsubscribe" is the customer's own act through the link mailed to them, never something a key reports.
    consent_source = serializers.ChoiceField(
        choices=API_CONSENT_SOURCES, required=False, allow_blank=True, help_text="Where the customer agreed."
    )
    consent_at = serializers.DateTimeField(required=False, help_text="When the customer agreed (not in the future).")
    consent_evidence = serializers.CharField(max_length=300, required=False, allow_blank=True)
    do_not_contact = serializers.BooleanField(required=False)

    def validate_phone(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_consent_at(self, value):
        if value > timezone.now():
            raise serializers.ValidationError(_("Consent cannot be given in the future."))
        if value < CONSENT_EARLIEST:  # before any shop kept consent by email (and before fixed UTC offsets)
            raise serializers.ValidationError(_("Give a time after 1 January 2000."))
        return value

    def validate(self, attrs):
        if not (attrs.get("external_id") or "").strip() and not (attrs.get("email") or "").strip():
            raise serializers.ValidationError(
                {"external_id": [_("Give an external ID or an email to find or create the customer.")]}
            )
        if not attrs.get("marketing_consent") and attrs.get("consent_at"):
            raise serializers.ValidationError({"consent_at": [_("Send consent_at only with marketing_consent: true.")]})
        if attrs.get("marketing_consent"):
            proof = _("Consent needs its proof: where (consent_source) and when (consent_at) the customer agreed.")
            missing = {key: [proof] for key in ("consent_source", "consent_at") if not attrs.get(key)}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class CustomerUpsertResultSerializer(CustomerUpsertSerializer):
    """The answer to an upsert: the customer's id and, as stored, only the fields the request sent.

    A request naming an existing customer by email learns nothing more about them (phone, birth date, address)."""

    id = serializers.IntegerField()
    consent_source = serializers.ChoiceField(choices=Customer.ConsentSource.choices, required=False, allow_blank=True)
    consent_at = serializers.DateTimeField(required=False, allow_null=True)

    def to_representation(self, instance):
        sent = set(self.context.get("sent", ()))
        data = super().to_representation(instance)
        return {key: value for key, value in data.items() if key == "id" or key in sent}
