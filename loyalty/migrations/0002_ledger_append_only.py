"""The ledger is append-only, enforced by PostgreSQL (the embedded SQLite default relies on the model's checks).

A trigger refuses any UPDATE of a ledger entry except:
- ``remaining``, what is left of an earned lot, which spending and expiry lower and a cancelled redemption
  restores (a CHECK keeps it between 0 and the lot's points);
- a reference set to NULL because what it pointed to was deleted (a touchpoint, a staff user);
- ``membership_id``, only while the transaction has set ``loyalty.merging`` (a customer merge folds one
  membership into another);
and refuses any DELETE unless the transaction has set ``loyalty.erasing`` (the deletion of a customer,
whose memberships take their ledger with them). Both settings are transaction-local (set_config(…, true)).
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION loyalty_ledger_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF coalesce(current_setting('loyalty.erasing', true), '') = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'loyalty ledger entry % cannot be deleted: the ledger is append-only', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (to_jsonb(NEW) - 'remaining' - 'touchpoint_id' - 'by_id' - 'membership_id')
            IS DISTINCT FROM (to_jsonb(OLD) - 'remaining' - 'touchpoint_id' - 'by_id' - 'membership_id')
        OR (NEW.touchpoint_id IS DISTINCT FROM OLD.touchpoint_id AND NEW.touchpoint_id IS NOT NULL)
        OR (NEW.by_id IS DISTINCT FROM OLD.by_id AND NEW.by_id IS NOT NULL)
        OR (NEW.membership_id IS DISTINCT FROM OLD.membership_id
            AND coalesce(current_setting('loyalty.merging', true), '') <> 'on')
    THEN
        RAISE EXCEPTION 'loyalty ledger entry % cannot be changed: the ledger is append-only', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER loyalty_ledger_append_only
    BEFORE UPDATE OR DELETE ON loyalty_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON loyalty_ledgerentry;
DROP FUNCTION IF EXISTS loyalty_ledger_guard();
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
    dependencies = [("loyalty", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
