from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .names import person_name
from .phones import format_phone
from .querysets import CustomerQuerySet, TagQuerySet
from .textfold import fold


class Tag(models.Model):
    class Color(models.TextChoices):
        GREY = "secondary", _("Grey")
        BLUE = "primary", _("Blue")
        GREEN = "success", _("Green")
        RED = "danger", _("Red")
        YELLOW = "warning", _("Yellow")
        CYAN = "info", _("Cyan")

    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=20, choices=Color.choices, default=Color.GREY)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="customers_tag_name_ci_unique",
                violation_error_message=_("A tag with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        LINE = "line", _("LINE")
        SMS = "sms", _("SMS")
        POST = "post", _("Post")
        NONE = "none", _("No preference")

    class Language(models.TextChoices):
        JA = "ja", _("Japanese")
        EN = "en", _("English")

    class Source(models.TextChoices):
        WEB = "web", _("Website")
        STORE = "store", _("Store visit")
        REFERRAL = "referral", _("Referral")
        ADVERTISING = "advertising", _("Advertising")
        SOCIAL = "social", _("Social media")
        SEARCH = "search", _("Search engine")
        EVENT = "event", _("Event")
        PHONE = "phone", _("Phone")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        OTHER = "other", _("Other")

    class ConsentSource(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        IN_STORE = "in_store", _("In store (signed form)")
        VERBAL = "verbal", _("Verbal (recorded by staff)")
        EMAIL = "email", _("Email reply")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribed (link or one-click)")

    family_name = models.CharField(_("family name"), max_length=100)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    family_name_kana = models.CharField(_("family name (kana)"), max_length=100, blank=True)
    given_name_kana = models.CharField(_("given name (kana)"), max_length=100, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True, help_text=_("Stored in E.164 form."))
    # A second address or number the customer also uses: where a merge keeps the one it did not choose.
    secondary_email = models.EmailField(_("other email"), max_length=254, blank=True)
    secondary_phone = models.CharField(_("other phone"), max_length=32, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True)
    region = models.CharField(_("prefecture / region"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    address_line1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=2, default="JP", help_text=_("ISO 3166 code, e.g. JP."))
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=5, choices=Language.choices, default=Language.JA
    )
    source = models.CharField(_("acquisition source"), max_length=20, choices=Source.choices, default=Source.OTHER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_customers",
        db_index=False,  # customer_owner_idx (owner, -created_at, -id) serves every lookup by owner
    )
    tags = models.ManyToManyField(
        Tag, verbose_name=_("tags"), blank=True, related_name="customers", through="CustomerTag"
    )
    external_id = models.CharField(
        _("external ID"), max_length=100, blank=True, help_text=_("Identifier in another system (shop, POS).")
    )
    marketing_consent = models.BooleanField(_("consents to marketing email"), default=False)
    consent_at = models.DateTimeField(_("consent recorded at"), null=True, blank=True)
    consent_source = models.CharField(_("consent given via"), max_length=20, choices=ConsentSource.choices, blank=True)
    consent_evidence = models.CharField(
        _("proof of opt-in"),
        max_length=300,
        blank=True,
        help_text=_("What the customer agreed to and where, e.g. 'newsletter box on store sign-up form v2'."),
    )
    do_not_contact = models.BooleanField(
        _("do not contact"), default=False, help_text=_("Never send this customer any message, even transactional.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Derived on save (see derive_fields): what the list sorts and searches on, each with its index.
    name_sort = models.CharField(max_length=210, editable=False, default="")
    search_text = models.TextField(editable=False, default="")

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("export_customer", _("Can export customers to CSV")),
            ("import_customer", _("Can import customers from CSV")),
            ("merge_customer", _("Can merge duplicate customers")),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="customers_customer_email_ci_unique",
                violation_error_message=_("Another customer already has this email address."),
            ),
            models.UniqueConstraint(
                "external_id",
                condition=~Q(external_id=""),
                name="customers_customer_external_id_unique",
                violation_error_message=_("Another customer already has this external ID."),
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="customer_created_idx"),
            models.Index(fields=["name_sort", "id"], name="customer_name_sort_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx", condition=~Q(phone="")),
            # The duplicate check on saving (``sharing_contact``) looks up the other contacts too.
            models.Index(fields=["secondary_phone"], name="customer_phone2_idx", condition=~Q(secondary_phone="")),
            models.Index(Lower("secondary_email"), name="customer_email2_idx", condition=~Q(secondary_email="")),
            models.Index(fields=["owner", "-created_at", "-id"], name="customer_owner_idx"),
            models.Index(fields=["source", "-created_at", "-id"], name="customer_source_idx"),
            models.Index(
                fields=["-created_at", "-id"], name="customer_consent_idx", condition=Q(marketing_consent=True)
            ),
            # Prefix search for queries too short for trigrams (most Japanese surnames are two kanji).
            models.Index(fields=["family_name"], opclasses=["varchar_pattern_ops"], name="customer_family_prefix_idx"),
            models.Index(fields=["given_name"], opclasses=["varchar_pattern_ops"], name="customer_given_prefix_idx"),
            models.Index(fields=["name_sort"], opclasses=["varchar_pattern_ops"], name="customer_name_prefix_idx"),
            models.Index(fields=["email"], opclasses=["varchar_pattern_ops"], name="customer_email_prefix_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        self.derive_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = set(update_fields) | {"name_sort", "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("customers:detail", args=[self.pk])

    def clean(self) -> None:
        super().clean()
        # As the CSV import has it: no one on file was born before 1900 or is born yet.
        if self.birth_date and (self.birth_date.year < 1900 or self.birth_date > timezone.localdate()):
            raise ValidationError({"birth_date": _("This birth date is not plausible.")})

    @property
    def last_activity_at(self):
        """When the customer last did something (``CustomerActivity``); ``select_related("activity")`` reads it
        with the customer. A customer created a moment ago has no row yet until the database trigger's insert is
        visible (never, in practice): then it is their creation time."""
        try:
            return self.activity.last_activity_at
        except CustomerActivity.DoesNotExist:
            return self.created_at

    @property
    def display_name(self) -> str:
        """Family name first for a name in Japanese script, given name first for a Western one (``names``)."""
        return person_name(self.family_name, self.given_name)

    @property
    def kana_name(self) -> str:
        return " ".join(part for part in (self.family_name_kana, self.given_name_kana) if part)

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def secondary_phone_display(self) -> str:
        return format_phone(self.secondary_phone)

    @property
    def can_receive_marketing(self) -> bool:
        return self.marketing_consent and not self.do_not_contact and bool(self.email)

    def derive_fields(self) -> None:
        """Fill the stored sort and search keys; called by save() and by every bulk writer."""
        family = self.family_name_kana or self.family_name
        given = self.given_name_kana or self.given_name
        self.name_sort = fold(f"{family} {given}".strip())[:210]
        phone_keys = []
        for phone in (self.phone, self.secondary_phone):
            digits = "".join(ch for ch in phone if ch.isdigit())
            national = "0" + digits[2:] if phone.startswith("+81") else ""
            phone_keys += [phone, digits, national]
        parts = [
            self.family_name,
            self.given_name,
            f"{self.family_name}{self.given_name}",
            f"{self.given_name} {self.family_name}",
            self.family_name_kana,
            self.given_name_kana,
            f"{self.family_name_kana}{self.given_name_kana}",
            self.email,
            self.secondary_email,
            *phone_keys,
            self.company,
            self.external_id,
        ]
        self.search_text = fold(" ".join(p for p in parts if p))


class CustomerActivity(models.Model):
    """When each customer last did something (a touchpoint, a note, a ticket message), in a table of its own.

    Recording activity is the busiest write of the system: touchpoints arrive in batches of a thousand through
    the API and imports. Kept on the customer row, each one rewrote that wide row and every one of its indexes
    (search trigrams, name prefixes, sorts: seventeen); here it rewrites a two-column row and one index. The list's
    "recent activity" sort, the inactivity segments and the "no touchpoint for N days" rules read the index.

    One row per customer, created with the customer by a database trigger (migration 0010), so every way of
    creating customers (forms, the CSV importer's COPY, the API, the seeder, the admin) gets one. Written only
    through ``customers.services.customer_touch``/``customers_touch``, which move it forward, never back.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="activity", verbose_name=_("customer")
    )
    last_activity_at = models.DateTimeField(_("last activity"))

    class Meta:
        verbose_name = _("customer activity")
        verbose_name_plural = _("customer activity")
        indexes = [models.Index(fields=["-last_activity_at", "-customer"], name="customer_activity_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} · {self.last_activity_at:%Y-%m-%d %H:%M}"


class CustomerTag(models.Model):
    """A tag on a customer, with a copy of the customer's ``created_at``.

    The copy lets "customers with tag X, newest first" walk one index, (tag, customer_created_at, customer),
    instead of the whole customer table: a tag held mostly by long-standing customers (VIP) otherwise
    costs a scan of every newer customer. Database triggers keep the copy (migration 0009), so every
    writer — ``tags.add()``, COPY in the importer and the seeder — stays correct without knowing it.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_links")
    customer_created_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        db_table = "customers_customer_tags"
        unique_together = [("customer", "tag")]
        indexes = [
            models.Index(fields=["tag", "-customer_created_at", "-customer"], name="customertag_tag_created_idx"),
        ]
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")

    def __str__(self) -> str:
        return f"{self.customer_id}:{self.tag_id}"


class Note(models.Model):
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("note"), max_length=10_000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [models.Index(fields=["customer", "-created_at", "-id"], name="note_customer_idx")]

    def __str__(self) -> str:
        return self.body[:50]


class CustomerMerge(models.Model):
    """Record of a merge: which record was folded into which, by whom, and what it held."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("kept customer"), on_delete=models.CASCADE, related_name="merges"
    )
    merged_customer_id = models.BigIntegerField(_("merged customer ID"))
    merged_data = models.JSONField(_("merged record"), default=dict)
    moved = models.JSONField(_("rows moved"), default=dict)
    # Whose value the kept record took, field by field ("primary" or "duplicate"), as chosen on the merge page.
    choices = models.JSONField(_("values chosen"), default=dict, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("merged by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("merged at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        # Links mailed to a record merged away (unsubscribe) find the record it went into.
        indexes = [models.Index(fields=["merged_customer_id"], name="customermerge_merged_idx")]

    def __str__(self) -> str:
        return f"#{self.merged_customer_id} → #{self.customer_id}"


class ImportBatch(models.Model):
    """One uploaded CSV: validated first (the preview), applied all-or-nothing on confirmation."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        INVALID = "invalid", _("Has errors")
        APPLIED = "applied", _("Applied")

    file_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(_("content"))
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PREVIEWED)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # What the preview showed would happen (see importing.streaming.row_target): applying checks it again.
    fingerprint = models.CharField(_("plan fingerprint"), max_length=64, blank=True)
    # The customers whose rows the file holds: erasing one of them erases the file (customer_delete).
    customer_ids = models.JSONField(_("customers in the file"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer import")
        verbose_name_plural = _("customer imports")

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("customers:import_detail", args=[self.pk])


class Segment(models.Model):
    """A saved filter over customers (see customers/segments.py for the conditions)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="customers_segment_name_ci_unique",
                violation_error_message=_("A segment with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('customers:list')}?segment={self.pk}"

    def customers(self):
        return Customer.objects.in_segment(self)


class ContactPreference(models.Model):
    """One choice a customer made about one channel and one purpose, with when and how (as ``consent_at`` /
    ``consent_source`` / ``consent_evidence`` record the marketing consent). Rows are only added: the newest row of a
    (customer, channel, purpose) holds, the older ones are its history. ``customers.consent`` reads and writes them.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        LINE = "line", _("LINE")
        SMS = "sms", _("SMS")

    class Purpose(models.TextChoices):
        NEWS = "news", _("News and offers")
        GREETINGS = "greetings", _("Greetings (birthday, anniversary, tier)")
        SURVEYS = "surveys", _("Surveys")

    class Source(models.TextChoices):
        PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
        OPT_OUT = "opt_out", _("Opted out of everything (preference centre)")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribed (link or one-click)")
        STAFF = "staff", _("Staff, at the customer's request")

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="contact_preferences",
        db_index=False,  # contact_preference_idx leads with the customer
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    allowed = models.BooleanField(_("allowed"))
    at = models.DateTimeField(_("recorded at"), default=timezone.now)
    source = models.CharField(_("recorded via"), max_length=20, choices=Source.choices)
    evidence = models.CharField(_("how it was given"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")
        indexes = [
            models.Index(fields=["customer", "channel", "purpose", "-at", "-id"], name="contact_preference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose}: {'yes' if self.allowed else 'no'}"
