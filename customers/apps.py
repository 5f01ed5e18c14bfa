from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from . import segments, timeline, timeline_entries

        segments.register_customer_conditions()

        timeline.register(
            timeline.TimelineProvider(
                kind="note",
                label=_("Notes"),
                template="customers/includes/_timeline_note.html",
                queryset=timeline_entries.note_rows,
                render=timeline_entries.note_entries,
                icon="sticky",
            )
        )
