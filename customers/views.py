from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import CreateView, DeleteView, DetailView, UpdateView

from . import addresses, consent, exporting, importing, merge_compare, panels, services, timeline
from .forms import (
    CustomerFilterForm,
    CustomerForm,
    ImportUploadForm,
    NoteForm,
    SegmentForm,
    StaffPreferencesForm,
    TagForm,
)
from .models import ContactPreference, Customer, ImportBatch, Segment, Tag
from .names import staff_name
from .pagination import KeysetListView, count_capped
from .querysets import (
    CUSTOMER_ORDERINGS,
    DEFAULT_CUSTOMER_ORDERING,
    DUPLICATE_RULES,
    duplicate_groups,
    filter_choices,
)
from .reads import customers_exported_announce
from .rows import customer_rows_html
from .segments import rules_q
from .service_errors import apply_service_errors

PREFERENCE_HISTORY_ROWS = 200


def customer_filtered_queryset(
    request: HttpRequest, *, segment_rules: dict[int, dict] | None = None, data: QueryDict | None = None
) -> tuple[CustomerFilterForm, object]:
    """The list's queryset for the request's search, segment and filters (shared by the list, the export and the
    list's actions, which pass the list's parameters as ``data``).

    ``segment_rules`` (segment id -> rules) saves a query when the caller already loaded them.
    """
    form = CustomerFilterForm((request.GET if data is None else data) or None)
    qs = Customer.objects.all()
    if form.is_valid():
        qs = qs.search(form.cleaned_data.get("q", "")).filter_by(**form.filters())
        segment_id = form.cleaned_data.get("segment")
        if segment_id:
            if segment_rules is None:
                segment_rules = dict(Segment.objects.filter(pk=segment_id).values_list("pk", "rules"))
            known = segment_id in segment_rules
            qs = qs.filter(rules_q(segment_rules[segment_id])) if known else qs.none()
    return form, qs


class CustomerListView(LoginRequiredMixin, PermissionRequiredMixin, KeysetListView):
    permission_required = "customers.view_customer"
    template_name = "customers/customer_list.html"
    results_template_name = "customers/includes/_customer_results.html"
    results_target = "customer-results"
    orderings = CUSTOMER_ORDERINGS
    default_sort = DEFAULT_CUSTOMER_ORDERING
    counted = False  # the count follows the page (``count_response``)
    link_drop_params = ("after", "before", "count")

    def get(self, request, *args, **kwargs):
        if request.GET.get("count") == "1":
            return self.count_response(request)
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        self.choices = filter_choices()
        self.filter_form, qs = customer_filtered_queryset(self.request, segment_rules=self.choices["segment_rules"])
        return qs

    def get_keyset(self, queryset):
        # A tag filter sorts through the tag's own index (``ordered_for_list``).
        tag = self.filter_form.cleaned_data.get("tag") if self.filter_form.is_valid() else None
        qs, ordering = queryset.ordered_for_list(self.sort, tag=tag)
        return qs.for_list(), ordering

    def count_response(self, request):
        """The number of matching customers, fetched by the page after it is shown (htmx).

        Counting can cost more than the page itself (every match of a broad search is read, up to the
        cap), so the list renders first and the count follows.
        """
        _form, qs = customer_filtered_queryset(request)
        count, capped = count_capped(qs)
        return render(request, "customers/includes/_customer_count.html", {"count": count, "capped": capped})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.link_query()
        context.update(
            # The rows, written in Python in one pass (a template per row cost most of the page's time).
            customer_rows=customer_rows_html(self.page.rows, show_consent=True),
            filter_form=self.filter_form,
            choices=self.choices,
            query_without_sort="&".join(f"{k}={v}" for k, v in query.items() if k != "sort"),
            sorts=[
                ("-created", _("Newest")),
                ("created", _("Oldest")),
                ("name", _("Name (A→Z)")),
                ("-name", _("Name (Z→A)")),
                ("-last_activity", _("Recent activity")),
                ("last_activity", _("Least recent activity")),
            ],
            is_filtered=self.filter_form.is_filtered(),
        )
        return context


def merged_redirect(request: HttpRequest, pk: int) -> HttpResponse | None:
    """The same page of the record ``pk`` was merged into (a link kept from before the merge), or None."""
    target = Customer.objects.surviving(pk).values_list("pk", flat=True).first() if pk < 2**63 else None
    if target is None or target == pk:
        return None
    match = request.resolver_match
    url = reverse(f"{match.namespace}:{match.url_name}", kwargs={**match.kwargs, "pk": target})
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url, permanent=True)


class MergedRedirectMixin:
    """A page of a record merged away redirects (301) to the kept record's page instead of answering 404."""

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            moved = merged_redirect(request, kwargs["pk"])
            if moved is None:
                raise
            return moved


class CustomerDetailView(LoginRequiredMixin, PermissionRequiredMixin, MergedRedirectMixin, DetailView):
    permission_required = "customers.view_customer"
    template_name = "customers/customer_detail.html"

    def get_queryset(self):
        # With its timeline in the page (``?timeline=1``), the one-to-ones the timeline's providers read too.
        timeline_related = timeline.select_related() if self.request.GET.get("timeline") else []
        # The contact preferences (``with_preferences``) and the panels' one-row reads (``panels.annotations``)
        # are subqueries of the customer's query: no query more.
        return (
            Customer.objects.select_related("owner", "activity", *panels.select_related(), *timeline_related)
            .annotate(**panels.annotations())
            .prefetch_related("tags")
            .with_preferences()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.object
        context["note_form"] = NoteForm()
        # The timeline (a query per provider) is loaded by htmx once the page is shown (``customer_timeline``),
        # so the page costs the customer, its panels and nothing more whatever apps are installed. Without
        # JavaScript, ``?timeline=1`` puts its first page in the page itself.
        if self.request.GET.get("timeline"):
            context["timeline"] = timeline.render_page(timeline.timeline_page(customer, user=self.request.user))
        context["timeline_providers"] = timeline.providers(self.request.user)
        context["panels"] = panels.render_panels(self.request, customer)
        context["preferences"] = consent.preferences_grid(customer)
        context["may_set_preferences"] = self.request.user.has_perm("customers.add_contactpreference")
        context["languages"] = Customer.Language.choices
        return context


def customer_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    """The next page of the timeline (htmx "load more"), or the first page filtered by kind."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    if not request.user.has_perm("customers.view_customer"):
        return HttpResponse(status=403)
    # The one-to-ones the providers read are joined here (a customer in no loyalty programme costs no loyalty query).
    customer = Customer.objects.select_related(*timeline.select_related()).filter(pk=pk).first()
    if customer is None:
        return merged_redirect(request, pk) or HttpResponse(status=404)
    kinds = [k for k in request.GET.getlist("kind") if k in {p.kind for p in timeline.providers(request.user)}]
    page = timeline.timeline_page(
        customer, cursor=request.GET.get("cursor", ""), kinds=kinds, filters=request.GET, user=request.user
    )
    # Entries whose provider writes their HTML (labels translated once per page) skip the per-entry templates.
    timeline.render_page(page)
    return render(
        request, "customers/includes/_timeline_page.html", {"customer": customer, "timeline": page, "kinds": kinds}
    )


class CustomerFormMixin:
    model = Customer
    form_class = CustomerForm
    template_name = "customers/customer_form.html"

    def form_valid(self, form):
        # A phone or email already on file: warn, with a link to that record, until "save anyway" is ticked.
        duplicates = self.contact_duplicates(form)
        email = form.cleaned_data.get("email")
        # Another customer's main email cannot be saved twice (a database constraint): the service says so.
        email_taken = bool(email) and any(other.email.lower() == email for other in duplicates)
        if duplicates and not email_taken and not form.cleaned_data.get("save_anyway"):
            return self.render_to_response(self.get_context_data(form=form, duplicates=duplicates))
        try:
            self.object = self.save_with_service(form)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            context = self.get_context_data(form=form, duplicates=duplicates, email_taken=email_taken)
            return self.render_to_response(context)
        return redirect(self.object)

    def contact_duplicates(self, form) -> list[Customer]:
        """Other customers with the email or phone typed (either as their main or their other contact); on an
        edit, only for a value that changed, so a known pair does not warn at every save."""
        stored = {}
        if self.object is not None and self.object.pk:
            stored = Customer.objects.filter(pk=self.object.pk).values("email", "phone").first() or {}
        wanted = {
            key: form.cleaned_data.get(key) or ""
            for key in ("email", "phone")
            if (form.cleaned_data.get(key) or "").lower() != (stored.get(key) or "").lower()
        }
        if not any(wanted.values()):
            return []
        others = Customer.objects.exclude(pk=self.object.pk) if self.object and self.object.pk else Customer.objects
        return list(others.sharing_contact(**wanted).order_by("created_at", "id")[:5])


class CustomerCreateView(LoginRequiredMixin, PermissionRequiredMixin, CustomerFormMixin, CreateView):
    permission_required = "customers.add_customer"

    def save_with_service(self, form) -> Customer:
        customer = services.customer_create(
            data=form.service_data(), tags=list(form.cleaned_data["tags"]), by=self.request.user
        )
        messages.success(self.request, _("Customer created."))
        return customer


class CustomerUpdateView(
    LoginRequiredMixin, PermissionRequiredMixin, MergedRedirectMixin, CustomerFormMixin, UpdateView
):
    permission_required = "customers.change_customer"

    def save_with_service(self, form) -> Customer:
        customer = services.customer_update(
            customer=self.object,
            data=form.service_data(),
            tags=list(form.cleaned_data["tags"]),
            by=self.request.user,
            consent_reason=form.cleaned_data["consent_change_reason"],
        )
        messages.success(self.request, _("Changes saved."))
        return customer


class CustomerDeleteView(LoginRequiredMixin, PermissionRequiredMixin, DeleteView):
    permission_required = "customers.delete_customer"
    model = Customer
    template_name = "customers/customer_confirm_delete.html"
    success_url = reverse_lazy("customers:list")

    def form_valid(self, form):
        services.customer_delete(customer=self.object, by=self.request.user)
        messages.success(self.request, _("Customer deleted."))
        return redirect(self.success_url)


@login_required
@permission_required("customers.add_note", raise_exception=True)
@require_POST
def note_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.note_create(customer=customer, body=form.cleaned_data["body"], author=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if request.headers.get("HX-Request"):
                entry = timeline.TimelineEntry(
                    at=note.created_at,
                    kind="note",
                    pk=note.pk,
                    template="customers/includes/_timeline_note.html",
                    obj=note,
                )
                response = render(
                    request, "customers/includes/_note_created.html", {"entry": entry, "note_form": NoteForm()}
                )
                return response
            messages.success(request, _("Note added."))
            return redirect(customer)
    if request.headers.get("HX-Request"):
        return render(
            request, "customers/includes/_note_form.html", {"note_form": form, "customer": customer}, status=422
        )
    messages.error(request, _("The note was not saved: %(errors)s") % {"errors": " ".join(form.errors.get("body", []))})
    return redirect(customer)


@login_required
@permission_required("customers.add_contactpreference", raise_exception=True)
@require_POST
def preferences_set(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff record the customer's contact preferences and language, as the customer asked (with how)."""
    customer = get_object_or_404(Customer, pk=pk)
    form = StaffPreferencesForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(e) for field_errors in form.errors.values() for e in field_errors)
        messages.error(request, _("The preferences were not saved: %(errors)s") % {"errors": errors})
        return redirect(customer)
    how = f"{staff_name(request.user)}: {form.cleaned_data['evidence']}"
    consent.preferences_set(customer=customer, choices=form.choices(), source=ContactPreference.Source.STAFF,
                            evidence=how)  # fmt: skip
    consent.profile_set(customer=customer, language=form.cleaned_data["language"])
    messages.success(request, _("Contact preferences saved."))
    return redirect(customer)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
@require_GET
def preferences_history(request: HttpRequest, pk: int) -> HttpResponse:
    """Every choice the customer made (or staff recorded for them), newest first, with when and how."""
    customer = get_object_or_404(Customer, pk=pk)
    rows = ContactPreference.objects.filter(customer=customer).order_by("-at", "-id")[:PREFERENCE_HISTORY_ROWS]
    return render(request, "customers/preference_history.html", {"customer": customer, "rows": rows})


@login_required
@require_GET
def postal_lookup(request: HttpRequest) -> JsonResponse:
    """``?code=1000001`` → ``{"postal_code", "prefecture", "city", "town"}`` from Japan Post's data, for the
    customer form (staff who may add or change customers); 404 with a message for an unknown code."""
    if not (request.user.has_perm("customers.add_customer") or request.user.has_perm("customers.change_customer")):
        return JsonResponse({"detail": _("You may not look up addresses.")}, status=403)
    code = request.GET.get("code", "")[:20]
    if addresses.normalize_postal_code(code) is None:
        return JsonResponse({"detail": _("Enter a postal code of seven digits, e.g. 100-0001.")}, status=400)
    found = addresses.postal_lookup(code)
    if found is None:
        return JsonResponse({"detail": _("No address has this postal code.")}, status=404)
    return JsonResponse(found)


# --- Tags -----------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_tag", raise_exception=True)
def tag_list(request: HttpRequest) -> HttpResponse:
    form = TagForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("customers.add_tag"):
            return HttpResponse(status=403)
        if form.is_valid():
            try:
                services.tag_save(**form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Tag created."))
                return redirect("customers:tags")
    tags = Tag.objects.with_customer_counts()
    return render(request, "customers/tag_list.html", {"tags": tags, "form": form})


class TagUpdateView(LoginRequiredMixin, PermissionRequiredMixin, UpdateView):
    permission_required = "customers.change_tag"
    model = Tag
    form_class = TagForm
    template_name = "customers/tag_form.html"
    success_url = reverse_lazy("customers:tags")

    def form_valid(self, form):
        try:
            services.tag_save(tag=self.object, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Tag saved."))
        return redirect(self.success_url)


class TagDeleteView(LoginRequiredMixin, PermissionRequiredMixin, DeleteView):
    permission_required = "customers.delete_tag"
    model = Tag
    template_name = "customers/tag_confirm_delete.html"
    success_url = reverse_lazy("customers:tags")


# --- Duplicates and merge -------------------------------------------------------------------------


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def duplicate_list(request: HttpRequest) -> HttpResponse:
    rule = request.GET.get("rule", "phone")
    if rule not in dict(DUPLICATE_RULES):
        rule = "phone"
    groups = duplicate_groups(rule=rule, after=request.GET.get("after", ""))
    return render(
        request,
        "customers/duplicate_list.html",
        {"groups": groups, "rule": rule, "rules": DUPLICATE_RULES},
    )


@login_required
@permission_required("customers.merge_customer", raise_exception=True)
def customer_merge(request: HttpRequest) -> HttpResponse:
    """GET: compare two records, differences highlighted, a value to choose per differing field. POST: merge."""
    source = request.POST if request.method == "POST" else request.GET
    try:
        ids = [int(i) for i in source.getlist("ids")][:2]
    except ValueError:
        ids = []
    customers = list(Customer.objects.filter(pk__in=ids).select_related("owner").prefetch_related("tags"))
    if len(customers) != 2:
        messages.error(request, _("Choose two existing customers to merge."))
        return redirect("customers:duplicates")
    customers.sort(key=lambda c: c.created_at)
    rows = merge_compare.compare_rows(customers)
    if request.method == "POST":
        try:
            keep = int(request.POST.get("keep", ""))
        except ValueError:
            keep = 0
        by_pk = {c.pk: c for c in customers}
        if keep not in by_pk:
            messages.error(request, _("Choose the record to keep."))
        else:
            choices = merge_compare.posted_choices(request.POST, rows=rows, keep=keep, pks=set(by_pk))
            primary = by_pk.pop(keep)
            (duplicate,) = by_pk.values()
            try:
                services.customer_merge(primary=primary, duplicate=duplicate, by=request.user, choices=choices)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("customers:duplicates")
            messages.success(request, _("Customers merged. The merged record is kept in the history."))
            return redirect(primary)
    return render(
        request,
        "customers/customer_merge.html",
        {"customers": customers, "rows": rows, "differences": sum(r.differs for r in rows)},
    )


# --- CSV import and export ------------------------------------------------------------------------


@login_required
@permission_required("customers.import_customer", raise_exception=True)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = importing.import_batch_create(file_name=upload.name, content=upload.read(), by=request.user)
        return redirect(batch)
    recent = ImportBatch.objects.select_related("created_by").defer("content")[:10]
    return render(
        request,
        "customers/import_upload.html",
        {"form": form, "recent": recent, "columns": importing.COLUMNS},
    )


@login_required
@permission_required("customers.import_customer", raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)
    preview = importing.import_preview_rows(batch=batch) if batch.status == ImportBatch.Status.PREVIEWED else []
    return render(request, "customers/import_detail.html", {"batch": batch, "preview": preview})


@login_required
@permission_required("customers.import_customer", raise_exception=True)
@require_POST
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    try:
        batch = importing.import_batch_apply(batch=batch, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Import complete: %(created)s created, %(updated)s updated.")
            % {"created": batch.created_count, "updated": batch.updated_count},
        )
    return redirect(batch)


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, qs = customer_filtered_queryset(request)
    customers_exported_announce(request=request, queryset=qs, what="customers:export")
    response = StreamingHttpResponse(exporting.customer_csv_chunks(qs), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response


# --- Segments -------------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = Segment.objects.select_related("created_by")
    return render(request, "customers/segment_list.html", {"segments": segments})


@login_required
@permission_required("customers.view_segment", raise_exception=True)
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    """The live count of one segment (loaded by htmx, so the list page stays one query)."""
    segment = get_object_or_404(Segment, pk=pk)
    count, capped = count_capped(segment.customers())
    return render(request, "customers/includes/_segment_count.html", {"count": count, "capped": capped})


@login_required
@permission_required("customers.view_segment", raise_exception=True)
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """How many customers the rules being edited match, before saving (htmx)."""
    form = SegmentForm(request.POST)
    form.is_valid()  # the name may still be empty while the rules are edited
    if any(k.startswith("rule_") for k in form.errors):
        # A condition that cannot be read counts nobody (it used to count everyone, as if there were none).
        return render(request, "customers/includes/_segment_count.html", {"invalid": True})
    count, capped = count_capped(Customer.objects.filter(rules_q(form.rules())))
    return render(request, "customers/includes/_segment_count.html", {"count": count, "capped": capped})


@login_required
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    perm = "customers.change_segment" if pk else "customers.add_segment"
    if not request.user.has_perm(perm):
        return HttpResponse(status=403)
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    initial = {}
    if segment:
        initial = {"name": segment.name, "description": segment.description}
        initial.update(SegmentForm.initial_from_rules(segment.rules))
    form = SegmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            segment = services.segment_save(
                segment=segment,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                rules=form.rules(),
                by=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, _("Segment saved."))
            return redirect(f"{reverse('customers:list')}?segment={segment.pk}")
    return render(request, "customers/segment_form.html", {"form": form, "segment": segment})


class SegmentDeleteView(LoginRequiredMixin, PermissionRequiredMixin, DeleteView):
    permission_required = "customers.delete_segment"
    model = Segment
    template_name = "customers/segment_confirm_delete.html"
    success_url = reverse_lazy("customers:segments")
