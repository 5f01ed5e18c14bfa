"""Follow-up tickets opened before subjects were keys get their key from the survey that opened them, so the
existing ones read in their reader's language too (the stored subject stays as it was)."""

from django.db import migrations

FOLLOW_UP = "feedback.follow_up"


def forwards(apps, schema_editor):
    Ticket = apps.get_model("feedback", "Ticket")
    rows = (
        Ticket.objects.filter(source_survey__isnull=False, subject_key="", source_survey__score__isnull=False)
        .values_list("pk", "source_survey__kind", "source_survey__score", "source_survey__ticket_id")
        .iterator(chunk_size=1000)
    )
    batch = []
    for pk, kind, score, ticket_id in rows:
        batch.append(
            Ticket(pk=pk, subject_key=FOLLOW_UP, subject_params={"kind": kind, "score": score, "ticket": ticket_id})
        )
        if len(batch) == 1000:
            Ticket.objects.bulk_update(batch, ["subject_key", "subject_params"])
            batch = []
    if batch:
        Ticket.objects.bulk_update(batch, ["subject_key", "subject_params"])


def backwards(apps, schema_editor):
    Ticket = apps.get_model("feedback", "Ticket")
    Ticket.objects.filter(subject_key=FOLLOW_UP).update(subject_key="", subject_params={})


class Migration(migrations.Migration):
    dependencies = [("feedback", "0009_system_text_keys")]

    operations = [migrations.RunPython(forwards, backwards)]
