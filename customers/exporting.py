"""CSV export of customers (placeholder: being written)."""


def customer_csv_chunks(queryset):
    raise NotImplementedError
