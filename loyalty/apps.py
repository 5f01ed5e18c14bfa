from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, pre_delete

        from customers import events as customer_events
        from customers import panels, segments, timeline
        from touchpoints import events as touchpoint_events

        from . import panels as loyalty_panels
        from . import reasons, receivers, timeline_entries
        from .models import Membership

        reasons.register()

        timeline.register(
            timeline.TimelineProvider(
                kind="loyalty",
                label=_("Points"),
                template="loyalty/includes/_timeline_entry.html",
                queryset=timeline_entries.ledger_rows,
                render=timeline_entries.ledger_entries,
                at_field="created_at",
                icon="stars",
                select_related=("loyalty_account",),
            )
        )
        timeline.register(
            timeline.TimelineProvider(
                kind="greeting",
                label=_("Greetings"),
                template="loyalty/includes/_timeline_greeting.html",
                queryset=timeline_entries.greeting_rows,
                render=timeline_entries.greeting_entries,
                at_field="created_at",
                icon="gift",
                select_related=("loyalty_account",),
            )
        )
        panels.register(
            panels.Panel(
                name="loyalty.membership",
                template="loyalty/includes/_panel_membership.html",
                context=loyalty_panels.membership_panel_context,
                permission="loyalty.view_membership",
                order=20,
                slot="side",
                select_related=("loyalty_account",),
            )
        )
        segments.register(
            segments.SegmentCondition(
                key="loyalty_tier",
                label=_("Loyalty tier is one of"),
                field=loyalty_panels.tier_segment_field,
                to_q=loyalty_panels.tier_segment_q,
                dump=lambda tiers: sorted(t.pk for t in tiers),
                load=lambda ids: ids,
                order=90,
            )
        )
        touchpoint_events.touchpoint_recorded.connect(receivers.on_touchpoint_recorded, dispatch_uid="loyalty.earn")
        customer_events.customer_merging.connect(receivers.on_customer_merging, dispatch_uid="loyalty.merge")
        pre_delete.connect(receivers.on_membership_pre_delete, sender=Membership, dispatch_uid="loyalty.erase")
        post_delete.connect(receivers.on_membership_post_delete, sender=Membership, dispatch_uid="loyalty.erased")
        self._register_placeholders()
        self._register_line_proof()

    @staticmethod
    def _register_line_proof() -> None:
        """The member number and birth date, as a proof on LINE's account-link page."""
        from touchpoints.outreach.line.linking import LinkProof, register_proof

        from .member import line_proof

        register_proof(
            LinkProof(
                key="member",
                label=_("Or give your member number and birth date"),
                form=line_proof.MemberProofForm,
                customer=line_proof.member_proof_customer,
                subject=line_proof.member_proof_subject,
            )
        )

    @staticmethod
    def _register_placeholders() -> None:
        """{points_balance} and {tier} for the outreach message templates."""
        from touchpoints.outreach import placeholders

        from . import services

        placeholders.register(
            "points_balance",
            _("Points balance"),
            services.placeholder_points_balance,
            prefetch=services.placeholders_points_balance,
            empty="",  # a non-member: {if points_balance}…{end} leaves the sentence out
        )
        placeholders.register("tier", _("Loyalty tier"), services.placeholder_tier, prefetch=services.placeholders_tier)
