from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskFailure(models.Model):
    """How many times each Celery task has failed, in the database so that every worker process adds to
    one count and every web process reports the same figure."""

    task = models.CharField(_("task"), max_length=200, unique=True)
    failures = models.BigIntegerField(_("failures"), default=0)
    last_failed_at = models.DateTimeField(_("last failed at"))

    class Meta:
        ordering = ["task"]
        verbose_name = _("task failure count")
        verbose_name_plural = _("task failure counts")

    def __str__(self) -> str:
        return f"{self.task}: {self.failures}"
