"""CSV import of customers: validate every row first (the preview), then write all rows in one transaction.

A file above TSUNAGU_IMPORT_MAX_BYTES is refused before it is read. It is decoded strictly: UTF-8 (with or
without BOM), else Shift_JIS (cp932) for a file that is not UTF-8 at all; a UTF-8 file with a damaged byte is
refused, naming the line and byte. The preview is streamed (``streaming``): rows are read and matched a chunk
at a time, and only counts, errors and the plan's fingerprint are kept. The uploaded file is kept on an
``ImportBatch`` for TSUNAGU_IMPORT_RETENTION_DAYS, and forgotten sooner when a customer in it is erased.
Applying validates the stored content again against the database as it is then, inside one transaction, and
writes it a chunk at a time as it goes (memory holds one chunk, never the file); it rolls everything back
(leaving the new preview) when the plan's fingerprint changed: which rows create, which update which
customer, as last changed. Rows are matched to existing customers by ``external_id`` when the row has one,
else by email (ignoring case), with a few bulk queries.

Speed matters (a shop system's export holds tens of thousands of customers): cells are checked by small
functions rather than ``full_clean``, slow checks are remembered (a phone number parsed for the preview is
not parsed again to apply), keys are looked up in bulk, and new rows are written with PostgreSQL's COPY
(``bulk_create`` on other databases).

The package: ``parsing`` (decoding, cells), ``matching`` (validation against the file and the database),
``streaming`` (the preview in bounded memory), ``writing`` and ``batches`` (the services); the names callers
use are re-exported here.
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
