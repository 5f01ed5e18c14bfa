from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TouchpointsConfig(AppConfig):
    name = "touchpoints"
    verbose_name = _("Customer journey")

    def ready(self) -> None:
        from customers import events as customer_events
        from customers import panels, timeline

        from . import panels as journey_panels
        from . import receivers, timeline_entries
        from . import segments as journey_segments

        timeline.register(
            timeline.TimelineProvider(
                kind="touchpoint",
                label=_("Touchpoints"),
                template="touchpoints/includes/_timeline_touchpoint.html",
                queryset=timeline_entries.touchpoint_rows,
                render=timeline_entries.touchpoint_entries,
                for_reader=timeline_entries.touchpoints_for_reader,
                at_field="occurred_at",
                icon="signpost-split",
                filters_template="touchpoints/includes/_timeline_filters.html",
                applies_filters=("stage", "channel"),
            )
        )
        # "transition" sorts after "touchpoint", so a stage change shows above the touchpoint that caused it.
        timeline.register(
            timeline.TimelineProvider(
                kind="transition",
                label=_("Stage changes"),
                template="touchpoints/includes/_timeline_transition.html",
                queryset=timeline_entries.transition_rows,
                render=timeline_entries.transition_entries,
                at_field="at",
                icon="signpost-2",
                applies_filters=("stage", "channel"),
            )
        )
        panels.register(
            panels.Panel(
                name="touchpoints.log",
                template="touchpoints/includes/_panel_log.html",
                context=journey_panels.log_panel_context,
                permission="touchpoints.add_touchpoint",
                order=10,
                slot="main",
            )
        )
        panels.register(
            panels.Panel(
                name="touchpoints.journey",
                template="touchpoints/includes/_panel_journey.html",
                context=journey_panels.journey_panel_context,
                permission="touchpoints.view_touchpoint",
                order=10,
                slot="side",
                select_related=("journey",),
            )
        )
        customer_events.customer_merging.connect(receivers.on_customer_merging, dispatch_uid="touchpoints.merge")

        journey_segments.register_journey_conditions()
