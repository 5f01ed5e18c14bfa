"""The customer's fields, named once: which of them the staff form, the services, the import/export file and the API
read and write, each in the order it shows them.

A new profile field goes into ``DETAIL_FIELDS`` (or the block it belongs to) and reaches every one of them; a
field that only one of them has is added to that list alone, here, where the difference is visible.
"""

from __future__ import annotations

NAME_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana")

# The profile after the name and the contact details.
DETAIL_FIELDS = (
    "birth_date",
    "company",
    "postal_code",
    "region",
    "city",
    "address_line1",
    "address_line2",
    "country",
    "preferred_channel",
    "preferred_language",
    "source",
)

CONSENT_FIELDS = ("marketing_consent", "consent_source", "consent_evidence", "do_not_contact")
# The consent record as a whole: only the customer's own acts (a sign-up, an unsubscribe) or a staff member with
# a reason change it; an API key records it for a customer it creates, never for an existing one.
CONSENT_RECORD_FIELDS = ("marketing_consent", "consent_source", "consent_evidence", "consent_at", "do_not_contact")

# A second email and phone (where a merge keeps the contact it did not choose): the staff form's, not the file's.
SECONDARY_CONTACT_FIELDS = ("secondary_email", "secondary_phone")

# The staff form's fields.
FORM_FIELDS = [
    *NAME_FIELDS,
    "email",
    "phone",
    *SECONDARY_CONTACT_FIELDS,
    *DETAIL_FIELDS,
    "owner",
    "tags",
    "external_id",
    *CONSENT_FIELDS,
]

# What customer_create / customer_update accept (tags are set by customer_tags_set; consent_at comes with the
# proof of a consent an API key records for a new customer).
SERVICE_FIELDS = (frozenset(FORM_FIELDS) - {"tags"}) | {"consent_at"}

# The columns of the import and export file: how a row is found (external_id, email) first.
FILE_COLUMNS = [
    "external_id",
    "email",
    *NAME_FIELDS,
    "phone",
    *DETAIL_FIELDS,
    "tags",
    "marketing_consent",
    "consent_evidence",
    "do_not_contact",
    "owner",
]

# What the API's upsert accepts (and answers with, of what was sent).
API_WRITE_FIELDS = [
    "external_id",
    "email",
    *NAME_FIELDS,
    "phone",
    *DETAIL_FIELDS,
    "marketing_consent",
    "consent_source",
    "consent_at",
    "consent_evidence",
    "do_not_contact",
]
