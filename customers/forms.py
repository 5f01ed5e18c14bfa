from __future__ import annotations

import unicodedata

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .addresses import PREFECTURE_NAMES, PREFECTURES
from .fields import FORM_FIELDS
from .models import Customer, Note, Tag
from .names import staff_name
from .phones import normalize_phone
from .segments import SegmentRulesForm

User = get_user_model()


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return staff_name(obj)


class CustomerForm(forms.ModelForm):
    owner = StaffChoiceField(
        queryset=User.objects.filter(is_active=True, is_staff=True).order_by("username"),
        required=False,
        label=_("Owner"),
    )

    class Meta:
        model = Customer
        fields = FORM_FIELDS
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "tags": forms.CheckboxSelectMultiple,
        }

    consent_change_reason = forms.CharField(
        label=_("Why the consent changes"),
        required=False,
        max_length=300,
        help_text=_("Needed when you change an existing customer's consent, e.g. “asked at the till on 3 May”."),
    )

    save_anyway = forms.BooleanField(
        label=_("Save anyway: this is a different customer"),
        required=False,
        help_text=_("Tick only after checking the record(s) listed above."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.phone:
            self.initial["phone"] = self.instance.phone_display
        if self.instance.pk and self.instance.secondary_phone:
            self.initial["secondary_phone"] = self.instance.secondary_phone_display
        self.fields["phone"].help_text = _("Any format: 090-1234-5678, or +44 20 7946 0958 for other countries.")
        # The 47 prefectures, stored in Japanese and shown in the reader's language; a region outside Japan
        # already on the record (from an import or the API) stays a choice.
        region = self.instance.region if self.instance.pk else ""
        extra = [(region, region)] if region and region not in PREFECTURE_NAMES else []
        self.fields["region"].widget = forms.Select(choices=[("", "—"), *PREFECTURES, *extra])
        self.fields["postal_code"].help_text = _("Typing a postal code fills in the prefecture, city and town.")

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data.get("phone", ""))

    def clean_secondary_phone(self) -> str:
        return normalize_phone(self.cleaned_data.get("secondary_phone", ""))

    def clean_email(self) -> str:
        return (self.cleaned_data.get("email") or "").strip().lower()

    def clean_secondary_email(self) -> str:
        return (self.cleaned_data.get("secondary_email") or "").strip().lower()

    def _clean_fields(self):
        # A full-width address typed on a Japanese keyboard (ｈａｎａ＠ｅｘａｍｐｌｅ．ｊｐ) is the ASCII one.
        if self.is_bound:
            self.data = self.data.copy()
            for key in ("email", "secondary_email"):
                name = self.add_prefix(key)
                if name in self.data:
                    self.data[name] = unicodedata.normalize("NFKC", self.data[name] or "")
        super()._clean_fields()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("marketing_consent") and not cleaned.get("email"):
            self.add_error("marketing_consent", _("Marketing consent needs an email address to send to."))
        # Consent is the customer's: a staff member changing it says why, and the reason is kept (issue 16).
        changed = self.instance.pk and any(
            key in cleaned and cleaned[key] != getattr(self.instance, key)
            for key in ("marketing_consent", "do_not_contact")
        )
        if changed and not (cleaned.get("consent_change_reason") or "").strip():
            self.add_error("consent_change_reason", _("Say why the consent changes: the reason is kept."))
        return cleaned

    def _get_validation_exclusions(self):
        # Uniqueness (email ignoring case, external ID) is checked by the service, with a clear message.
        return super()._get_validation_exclusions() | {"email", "external_id"}

    def service_data(self) -> dict:
        skip = ("tags", "consent_change_reason", "save_anyway")
        data = {k: v for k, v in self.cleaned_data.items() if k not in skip}
        return data


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3, "placeholder": _("Add a note…")})}
        labels = {"body": _("Note")}


class TagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "color", "description"]

    def _get_validation_exclusions(self):
        # The name's case-insensitive uniqueness is checked by services.tag_save, with a clear message.
        return super()._get_validation_exclusions() | {"name"}


class CustomerFilterForm(forms.Form):
    """The list's query string, validated: only these keys and values reach the queryset."""

    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    segment = forms.IntegerField(required=False, min_value=1, label=_("Segment"))
    tag = forms.IntegerField(required=False, min_value=1, label=_("Tag"))
    owner = forms.CharField(required=False, max_length=20, label=_("Owner"))
    source = forms.ChoiceField(
        required=False,
        choices=[("", _("Any source")), *Customer.Source.choices],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    consent = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Any consent")),
            ("yes", _("Can receive marketing")),
            ("no", _("No consent")),
            ("dnc", _("Do not contact")),
        ],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    sort = forms.CharField(required=False, max_length=20)

    def clean_owner(self) -> str:
        owner = self.cleaned_data.get("owner", "")
        if owner and owner != "none" and not owner.isdigit():
            raise ValidationError(_("Unknown owner."))
        return owner

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "tag": data.get("tag"),
            "owner": data.get("owner"),
            "source": data.get("source"),
            "consent": data.get("consent"),
        }

    def is_filtered(self) -> bool:
        keys = ("q", "segment", "tag", "owner", "source", "consent")
        return self.is_valid() and any(self.cleaned_data.get(k) for k in keys)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 (with or without BOM) or Shift_JIS. The first line names the columns."),
    )

    def clean_file(self):
        from customers.importing import import_size_check

        upload = self.cleaned_data["file"]
        import_size_check(size=upload.size)
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise ValidationError(_("Upload a .csv file."))
        return upload


class SegmentForm(SegmentRulesForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)

    field_order = ["name", "description"]


class StaffPreferencesForm(forms.Form):
    """The customer's contact preferences, recorded by staff at the customer's request (the customer page): one
    tick per channel x purpose (``pref_<channel>_<purpose>``), the language, and how the customer asked."""

    language = forms.ChoiceField(label=_("Language"), choices=Customer.Language.choices)
    evidence = forms.CharField(
        label=_("How the customer asked"),
        max_length=200,
        help_text=_("For example: by phone on 3 May."),
    )

    def __init__(self, *args, **kwargs) -> None:
        from .models import ContactPreference

        super().__init__(*args, **kwargs)
        self.cells = [(c, p) for c in ContactPreference.Channel.values for p in ContactPreference.Purpose.values]
        for channel, purpose in self.cells:
            self.fields[f"pref_{channel}_{purpose}"] = forms.BooleanField(required=False)

    def choices(self) -> dict[tuple[str, str], bool]:
        return {(c, p): bool(self.cleaned_data.get(f"pref_{c}_{p}")) for c, p in self.cells}
