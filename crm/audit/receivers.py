"""The audit trail's handlers: exports and page views announced by the apps below, and Celery tasks' change context."""

from __future__ import annotations

from celery import signals as celery_signals
from django.dispatch import receiver

from customers.reads import customers_exported, customers_viewed

from .access import access_record
from .context import task_context_enter, task_context_exit
from .models import AccessRecord


@receiver(customers_exported, dispatch_uid="audit.customers_exported")
def _customers_exported(*, request, customer_ids, what, filter, **kwargs) -> None:
    access_record(request=request, how=AccessRecord.How.EXPORT, customer_ids=customer_ids, what=what, filter=filter)


@receiver(customers_viewed, dispatch_uid="audit.customers_viewed")
def _customers_viewed(*, request, customer_ids, what, **kwargs) -> None:
    access_record(request=request, how=AccessRecord.How.PAGE, customer_ids=customer_ids, what=what)


celery_signals.task_prerun.connect(task_context_enter, dispatch_uid="audit.task_context_enter", weak=False)
celery_signals.task_postrun.connect(task_context_exit, dispatch_uid="audit.task_context_exit", weak=False)
