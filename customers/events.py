"""Domain events the customers app announces to the apps above it (see STYLE.md).

Receivers connect in their AppConfig.ready(); senders are the services in customers/services.py.
"""

from django.dispatch import Signal

# Sent inside the merge transaction, before related rows move: resolve rows that would clash.
# kwargs: primary (Customer), duplicate (Customer)
customer_merging = Signal()

# Sent after a merge, inside its transaction. kwargs: primary (Customer), merged_customer_id (int)
customer_merged = Signal()
