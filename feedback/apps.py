from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from customers import panels, timeline
        from touchpoints import timeline_entries as journey_timeline
        from touchpoints.outreach import inbound, placeholders, sources

        from . import checks, inbound_email, inbound_line, subjects, timeline_entries  # noqa: F401 (checks registers itself)
        from . import panels as feedback_panels

        # Ticket replies and survey mail in the outbox are support correspondence, as the tickets are. They are on
        # the timeline as the ticket's own entries (and a survey's "feedback request"), not as "Follow-up email"s;
        # their mail carries the reply address that leads back to the ticket.
        sources.register(
            source_app="feedback",
            permission="feedback.view_ticket",
            on_timeline=False,
            headers=inbound_email.outbound_headers,
        )
        # The support touchpoints a ticket logs carry its subject: support correspondence too.
        journey_timeline.private_summaries_register(key_prefix="feedback:ticket:", permission="feedback.view_ticket")
        # A touchpoint recorded about a ticket (its opening, its CSAT request) is shown by the ticket's entry.
        journey_timeline.fold_touchpoints(metadata_key="ticket")
        # Email customers send in joins their tickets.
        inbound.register(inbound_email.on_inbound_email)
        subjects.register()
        # A linked customer's LINE message joins their LINE ticket, or opens one.
        inbound.register(inbound_line.receive_line)
        timeline.register(
            timeline.TimelineProvider(
                kind="ticket",
                label=_("Tickets and replies"),
                template="feedback/includes/_timeline_ticket.html",
                queryset=timeline_entries.message_rows,
                render=timeline_entries.message_entries,
                at_field="created_at",
                icon="life-preserver",
                applies_filters=("channel",),
                permission="feedback.view_ticket",
            )
        )
        panels.register(
            panels.Panel(
                name="feedback.tickets",
                template="feedback/includes/_panel_tickets.html",
                context=feedback_panels.tickets_panel_context,
                permission="feedback.view_ticket",
                order=20,
                slot="side",
            )
        )
        placeholders.register("nps_survey_url", _("NPS survey link (feedback)"), feedback_panels.nps_survey_url)
