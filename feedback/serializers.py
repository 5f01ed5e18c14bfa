"""The feedback API's request and response shapes. Serializers validate; the services write."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Ticket
from .services import BODY_MAX, NAME_MAX, ORDER_REFERENCE_MAX, SUBJECT_MAX


class TicketInSerializer(serializers.Serializer):
    """A message from the website widget. The customer is found by email (ignoring case) or created,
    without marketing consent; they get a confirmation mail with the ticket's reference."""

    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(
        max_length=NAME_MAX, required=False, allow_blank=True, default="", help_text=_("Used for a new customer.")
    )
    kind = serializers.ChoiceField(choices=Ticket.Kind.choices, default=Ticket.Kind.QUESTION)
    subject = serializers.CharField(
        max_length=SUBJECT_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Defaults to the message's first line."),
    )
    message = serializers.CharField(max_length=BODY_MAX)
    order_reference = serializers.CharField(
        max_length=ORDER_REFERENCE_MAX, required=False, allow_blank=True, default=""
    )
    language = serializers.ChoiceField(
        choices=[("ja", "ja"), ("en", "en")], default="ja", help_text=_("The language of a new customer.")
    )
    email_verified = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_(
            "True when your site verified the sender's address itself (a logged-in shopper): the ticket opens at "
            "once. Needs the key's tickets:verified scope. Otherwise the message is held and a confirmation link is "
            "mailed to the address, as the public form does (202)."
        ),
    )
    idempotency_key = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Send the same key when you retry: one ticket is opened."),
    )


class TicketSerializer(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "customer_id",
            "kind",
            "channel",
            "subject",
            "priority",
            "status",
            "order_reference",
            "created_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields
