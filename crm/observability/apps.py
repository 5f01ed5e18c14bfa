from celery import signals
from django.apps import AppConfig


def _on_task_failure(sender=None, **kwargs) -> None:
    # Imported here: models cannot be imported before the app registry is ready.
    from .services import task_failure_record

    task_failure_record(task=getattr(sender, "name", None) or str(sender))


class ObservabilityConfig(AppConfig):
    name = "crm.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        signals.task_failure.connect(_on_task_failure, weak=False, dispatch_uid="tsunagu-task-failure-count")
