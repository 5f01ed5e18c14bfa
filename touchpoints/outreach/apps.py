from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutreachConfig(AppConfig):
    name = "touchpoints.outreach"
    label = "outreach"
    verbose_name = _("Outreach")

    def ready(self) -> None:
        from customers import panels as customer_panels
        from touchpoints import events

        from . import channels, placeholders, rules  # noqa: F401 (importing channels registers them)
        from . import panels as outreach_panels

        customer_panels.register(
            customer_panels.Panel(
                name="touchpoints.outreach",
                template="outreach/includes/_panel_outreach.html",
                context=outreach_panels.outreach_panel_context,
                permission="outreach.view_outboundmessage",
                order=30,
                slot="side",
            )
        )
        from customers import segments

        from .line import pages as line_pages

        customer_panels.register(
            customer_panels.Panel(
                name="touchpoints.outreach.line",
                template="outreach/includes/_panel_line.html",
                context=line_pages.line_panel_context,
                annotate=line_pages.line_panel_annotations,
                permission="outreach.view_lineuser",
                order=35,
                slot="side",
            )
        )
        segments.register(line_pages.line_segment_condition())
        # Placeholders, and the follow-up rules' triggers: outreach listens to the journey's events.
        placeholders.register_outreach_placeholders()
        events.touchpoint_recorded.connect(
            rules.on_touchpoint_recorded, dispatch_uid="touchpoints.outreach.rules.touchpoint"
        )
        events.touchpoint_retracted.connect(
            rules.on_touchpoint_retracted, dispatch_uid="touchpoints.outreach.rules.retracted"
        )
        events.journey_stage_changed.connect(
            rules.on_journey_stage_changed, dispatch_uid="touchpoints.outreach.rules.stage"
        )
        # Mail a provider pushes (django-anymail's inbound webhooks, signatures checked by anymail).
        from anymail.signals import inbound as anymail_inbound

        from .channels.mailbox.webhook import on_anymail_inbound

        anymail_inbound.connect(on_anymail_inbound, dispatch_uid="touchpoints.outreach.mailbox.anymail")
