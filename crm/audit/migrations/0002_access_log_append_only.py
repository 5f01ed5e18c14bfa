"""The access log is append-only, enforced by PostgreSQL (the embedded SQLite default has no trigger).

A trigger refuses any UPDATE of an access record, and any DELETE unless the transaction has set
``audit.purging`` (the retention purge, crm/audit/services.py; transaction-local, set_config(…, true)).
TRUNCATE stays possible, as on the ledger: it takes the table owner's rights, and the test runner's flush uses it.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION audit_access_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('audit.purging', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'access record % cannot be changed or deleted: the access log is append-only', OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_access_append_only
    BEFORE UPDATE OR DELETE ON audit_accessrecord
    FOR EACH ROW EXECUTE FUNCTION audit_access_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_access_append_only ON audit_accessrecord;
DROP FUNCTION IF EXISTS audit_access_guard();
"""


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: the % of RAISE stay as written
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, GUARD)


def backwards(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
