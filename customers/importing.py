"""CSV import of customers (placeholder: being written)."""

COLUMNS: list[str] = []


def import_batch_create(*, file_name, content, by):
    raise NotImplementedError


def import_batch_apply(*, batch, by):
    raise NotImplementedError


def import_preview_rows(*, batch, limit=20):
    raise NotImplementedError
