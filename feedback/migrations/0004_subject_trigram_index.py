"""PostgreSQL only: a trigram index for the ticket search by subject, and room on each page for HOT updates.

The queue's search is ``subject__icontains``, which Django writes as ``UPPER(subject) LIKE UPPER(%q%)``;
SQLite (the embedded default) scans, which is fine for a demo. With 10% of each page left free, an update of
columns no index holds (the SLA job's breach flags, ``updated_at``) stays on its page and writes no index
entry: flagging thousands of breaches at once is a tenth of the work.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ticket_subject_trgm_idx ON feedback_ticket USING gin (UPPER(subject) gin_trgm_ops)",
    "ALTER TABLE feedback_ticket SET (fillfactor = 90)",
]
DROP = ["DROP INDEX IF EXISTS ticket_subject_trgm_idx", "ALTER TABLE feedback_ticket RESET (fillfactor)"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in CREATE:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0003_feedback_permissions")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
