from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from . import segments, timeline

        segments.register_customer_conditions()
        from .models import Note

        timeline.register(
            timeline.TimelineProvider(
                kind="note",
                label=_("Notes"),
                template="customers/includes/_timeline_note.html",
                queryset=lambda customer, filters: Note.objects.filter(customer=customer).select_related("author"),
                icon="sticky",
            )
        )
