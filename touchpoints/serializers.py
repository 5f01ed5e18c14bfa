"""The ingest API's request and response shapes. Serializers validate; the services write."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from .models import Channel, Direction, Touchpoint
from .services import BATCH_MAX

BIGINT_MAX = 2**63 - 1


class DateTimeField(serializers.DateTimeField):
    """DRF's, refusing (not crashing on) times that overflow when moved to UTC, e.g. 9999-12-31T23:59-14:00."""

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except OverflowError as exc:
            raise serializers.ValidationError(_("This date and time is out of range.")) from exc


class TouchpointInSerializer(serializers.Serializer):
    """One touchpoint. Name the customer by exactly one of ``customer_id``, ``customer_external_id`` or
    ``customer_email``, and the type by its catalogue slug."""

    customer_id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, required=False)
    customer_external_id = serializers.CharField(max_length=100, required=False)
    customer_email = serializers.EmailField(max_length=254, required=False)
    type = serializers.SlugField(max_length=50, help_text=_("Slug of a touchpoint type, e.g. “transaction”."))
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.OTHER)
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.INBOUND)
    occurred_at = DateTimeField(required=False, help_text=_("Defaults to now."))
    summary = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, required=False, default="JPY")
    order_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    campaign = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict)
    idempotency_key = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Send the same key when you retry: the touchpoint is recorded once."),
    )

    CUSTOMER_FIELDS = ("customer_id", "customer_external_id", "customer_email")

    def validate(self, attrs):
        given = [name for name in self.CUSTOMER_FIELDS if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError({"customer": [self._customer_message()]})
        return attrs

    def to_internal_value(self, data):
        """DRF runs ``validate`` only once every field is valid: an item with no customer and no type was told only
        of the type. The customer's absence is named with the fields' errors."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(data, dict) and isinstance(exc.detail, dict) and "customer" not in exc.detail:
                named = sum(1 for name in self.CUSTOMER_FIELDS if data.get(name) not in (None, ""))
                if named != 1:
                    exc.detail["customer"] = [serializers.ErrorDetail(self._customer_message(), code="invalid")]
            raise

    @staticmethod
    def _customer_message() -> str:
        return _("Give exactly one of customer_id, customer_external_id or customer_email.")

    def quick_validation(self, data: Any) -> dict | None:
        """``run_validation(data)`` for an item that is valid, or None: then call ``run_validation`` for the errors.

        The same fields validate the values sent, but only those (DRF walks all fifteen for every item, through
        its serializer machinery), and the plainest values (an int in range, a known choice, a short trimmed ASCII
        string, an ISO time with its offset) by a check of their own, which gives what the field would
        (``_plain_check``); any other value goes through its field. A batch of 1,000 pays this a thousand times;
        a property test holds it to DRF's answers."""
        if type(data) is not dict:
            return None
        attrs: dict[str, Any] = {}
        try:
            for name, field, required, default, plain in self._quick_fields:
                value = data.get(name, empty)
                if value is not empty:
                    checked = plain(value) if plain is not None else _NOT_PLAIN
                    attrs[name] = field.run_validation(value) if checked is _NOT_PLAIN else checked
                elif required:
                    return None
                elif default is not empty:
                    attrs[name] = default() if callable(default) else default
            return self.validate(attrs)
        except (serializers.ValidationError, DjangoValidationError, SkipField):
            return None

    @cached_property
    def _quick_fields(self) -> list[tuple[str, serializers.Field, bool, Any, Callable | None]]:
        return [
            (name, field, field.required, field.default, _plain_check(field)) for name, field in self.fields.items()
        ]


_NOT_PLAIN = object()
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_DRF_BOUNDS_VALIDATORS = {"MaxValueValidator", "MinValueValidator"}
_DRF_CHAR_VALIDATORS = {"MaxLengthValidator", "ProhibitNullCharactersValidator", "ProhibitSurrogateCharactersValidator"}


def _plain_check(field: serializers.Field) -> Callable[[Any], Any] | None:
    """For the field types of ``TouchpointInSerializer``: a function that returns what ``field.run_validation(value)``
    returns for the plainest valid values, and ``_NOT_PLAIN`` for anything else (the field decides those)."""
    kind = type(field)
    if kind is serializers.IntegerField and {type(v).__name__ for v in field.validators} <= _DRF_BOUNDS_VALIDATORS:
        low, high = field.min_value, field.max_value

        def integer(value):
            if type(value) is int and (low is None or value >= low) and (high is None or value <= high):
                return value
            return _NOT_PLAIN

        return integer
    if kind is serializers.ChoiceField:
        plain_choices = {key: value for key, value in field.choice_strings_to_values.items() if key}

        def choice(value):
            return plain_choices.get(value, _NOT_PLAIN) if type(value) is str else _NOT_PLAIN

        return choice
    if kind in (serializers.CharField, serializers.SlugField) and field.trim_whitespace:
        if {type(v).__name__ for v in field.validators} != _DRF_CHAR_VALIDATORS | (
            {"RegexValidator"} if kind is serializers.SlugField else set()
        ):
            return None
        longest, blank, slug = field.max_length, field.allow_blank, kind is serializers.SlugField

        def text(value):
            if type(value) is not str:
                return _NOT_PLAIN
            if not value:
                return "" if blank else _NOT_PLAIN
            if slug:
                ok = len(value) <= longest and _SLUG.fullmatch(value) is not None
            else:  # ASCII without NUL, already trimmed: nothing for DRF to strip or refuse
                ok = value.isascii() and len(value) <= longest and "\x00" not in value and value.strip() == value
            return value if ok else _NOT_PLAIN

        return text
    if kind is DateTimeField and not field.validators:

        def moment(value):
            if type(value) is not str:
                return _NOT_PLAIN
            try:
                parsed = dt.datetime.fromisoformat(value)  # what django.utils.dateparse.parse_datetime tries first
                if parsed.tzinfo is None:
                    return _NOT_PLAIN
                return parsed.astimezone(timezone.get_current_timezone())  # DRF's enforce_timezone, for aware times
            except (ValueError, OverflowError):
                return _NOT_PLAIN

        return moment
    return None


class TouchpointBatchInSerializer(serializers.Serializer):
    touchpoints = TouchpointInSerializer(many=True, max_length=BATCH_MAX, min_length=1)


class TouchpointSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    type = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "customer_id",
            "type",
            "stage",
            "channel",
            "direction",
            "occurred_at",
            "summary",
            "amount",
            "currency",
            "order_reference",
            "campaign",
            "utm_source",
            "metadata",
            "source",
            "idempotency_key",
            "created_at",
        ]
        read_only_fields = fields


_TOUCHPOINT_OUT = TouchpointSerializer()  # its fields built once: a ModelSerializer builds them for each instance


def touchpoint_data(touchpoint) -> dict:
    """``TouchpointSerializer(touchpoint).data``, without building the serializer's fields on every request
    (``to_representation`` keeps no state between calls)."""
    return _TOUCHPOINT_OUT.to_representation(touchpoint)


class TouchpointRefSerializer(serializers.Serializer):
    """What a batch answers for each item, in the order sent."""

    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    stage = serializers.CharField()
    idempotency_key = serializers.CharField()
    replayed = serializers.BooleanField(help_text=_("True when the key had been recorded before."))


def touchpoint_ref(touchpoint) -> dict:
    """``TouchpointRefSerializer``'s shape, built directly: a batch answers 1,000 of them."""
    return {
        "id": touchpoint.pk,
        "customer_id": touchpoint.customer_id,
        "stage": touchpoint.stage,
        "idempotency_key": touchpoint.idempotency_key,
        "replayed": touchpoint.replayed,
    }


class TouchpointBatchSerializer(serializers.Serializer):
    touchpoints = TouchpointRefSerializer(many=True)
    created = serializers.IntegerField(help_text=_("How many were recorded by this request."))
    replayed = serializers.IntegerField(help_text=_("How many had been recorded before under the same key."))
