"""CSV import of customers: validate every row first (the preview), then write all rows in one transaction.

The uploaded file is kept on an ``ImportBatch``. Applying it validates the stored content again against the
database as it is then, so a preview that went stale cannot write a bad row. Rows are matched to existing
customers by ``external_id`` when the row has one, else by email (ignoring case), with a few bulk queries.

Speed matters (a shop system's export holds tens of thousands of customers): cells are checked by small
functions rather than ``full_clean``, slow checks are remembered (a phone number parsed for the preview is
not parsed again to apply), keys are looked up in bulk, and new rows are written with PostgreSQL's COPY
(``bulk_create`` on other databases).

The package: ``parsing`` (decoding, cells), ``matching`` (validation against the file and the database),
``writing`` and ``batches`` (the services); the names callers use are re-exported here.
"""

from customers.importing.batches import (
    import_batch_apply,
    import_batch_create,
    import_preview_rows,
    import_size_check,
)
from customers.importing.parsing import COLUMNS, FORMULA_PREFIXES

__all__ = [
    "COLUMNS",
    "FORMULA_PREFIXES",
    "import_batch_apply",
    "import_batch_create",
    "import_preview_rows",
    "import_size_check",
]
