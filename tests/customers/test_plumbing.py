"""The shared plumbing in customers: service errors on forms and in the API, domain events after commit, local days."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

import pytest
from django import forms
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.test import RequestFactory, override_settings

from customers import fields
from customers.forms import CustomerForm
from customers.importing import COLUMNS
from customers.localtime import add_months, local_date, local_day_start, local_today
from customers.models import Customer
from customers.pagination import KeysetListView
from customers.querysets import CUSTOMER_ORDERINGS
from customers.serializers import CustomerUpsertResultSerializer, CustomerUpsertSerializer
from customers.service_errors import api_errors, apply_service_errors
from customers.signals import send_after_commit
from tests.factories import CustomerFactory


class _NameForm(forms.Form):
    name = forms.CharField(required=False)


def test_apply_service_errors_puts_known_fields_on_the_field_and_the_rest_on_the_form():
    # given a bound form and a service error naming a field it has and one it has not
    form = _NameForm(data={"name": "x"})
    form.is_valid()
    # when
    apply_service_errors(form, ValidationError({"name": ["Taken."], "hidden": ["Broken."]}))
    # then
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Broken."]


def test_apply_service_errors_puts_a_plain_error_on_the_form():
    form = _NameForm(data={})
    form.is_valid()
    apply_service_errors(form, ValidationError("Not now."))
    assert form.non_field_errors() == ["Not now."]


def test_api_errors_shape_like_drf():
    assert api_errors(ValidationError({"__all__": ["A"], "email": ["B"]})) == {
        "non_field_errors": ["A"],
        "email": ["B"],
    }
    assert api_errors(ValidationError("C")) == {"non_field_errors": ["C"]}


# --- send_after_commit ----------------------------------------------------------------------------


def _failing_receiver(sender, **kwargs):
    raise RuntimeError("receiver broke")


@pytest.mark.django_db
def test_send_after_commit_waits_for_the_commit(django_capture_on_commit_callbacks):
    # given a signal with one receiver
    event, heard = Signal(), []

    def listener(sender, **kwargs):
        heard.append(kwargs["value"])

    event.connect(listener, weak=False)
    # when it is sent inside a transaction
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        send_after_commit(event, sender=object, value=1)
        # then nobody hears it before the commit
        assert heard == []
    assert heard == [1]


@pytest.mark.django_db
def test_a_failing_receiver_is_logged_by_name_and_the_others_still_run(django_capture_on_commit_callbacks, caplog):
    # given a signal whose first receiver raises
    event, heard = Signal(), []

    def listener(sender, **kwargs):
        heard.append(kwargs["value"])

    event.connect(_failing_receiver, weak=False)
    event.connect(listener, weak=False)
    # when it is sent after a commit
    with caplog.at_level(logging.ERROR, logger="customers.signals"), django_capture_on_commit_callbacks(execute=True):
        send_after_commit(event, sender=object, value=2)
    # then the other receiver ran, and the failure is logged with the receiver's name and traceback
    assert heard == [2]
    [record] = [r for r in caplog.records if r.name == "customers.signals"]
    assert "_failing_receiver" in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


# --- localtime ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2028, 2, 29), 12, dt.date(2029, 2, 28)),
        (dt.date(2026, 3, 31), -1, dt.date(2026, 2, 28)),
        (dt.date(2026, 12, 15), 1, dt.date(2027, 1, 15)),
        (dt.date(2026, 1, 1), -1, dt.date(2025, 12, 1)),
        (dt.date(2026, 5, 1), -12, dt.date(2025, 5, 1)),
        (dt.date(2026, 5, 10), 0, dt.date(2026, 5, 10)),
    ],
)
def test_add_months_keeps_the_day_within_the_month_it_lands_in(day, months, expected):
    assert add_months(day, months) == expected


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_local_day_start_is_midnight_in_the_business_zone():
    start = local_day_start(dt.date(2026, 3, 1))
    assert start == dt.datetime(2026, 2, 28, 15, 0, tzinfo=dt.UTC)
    assert start.tzinfo == zoneinfo.ZoneInfo("Asia/Tokyo")


@override_settings(TIME_ZONE="Asia/Tokyo")
def test_local_date_counts_23_30_and_00_30_on_their_local_days():
    assert local_date(dt.datetime(2026, 2, 28, 14, 30, tzinfo=dt.UTC)) == dt.date(2026, 2, 28)  # 23:30 JST
    assert local_date(dt.datetime(2026, 2, 28, 15, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 1)  # 00:30 JST
    assert isinstance(local_today(), dt.date)


# --- the customer's fields ------------------------------------------------------------------------


def test_the_customer_field_lists_are_the_ones_each_place_uses():
    # the form, the services, the file and the API each read their list from customers.fields
    assert list(CustomerForm._meta.fields) == fields.FORM_FIELDS
    assert set(CustomerUpsertResultSerializer().fields) == {"id", *fields.API_WRITE_FIELDS}
    assert list(CustomerUpsertSerializer().fields) == fields.API_WRITE_FIELDS
    assert COLUMNS == fields.FILE_COLUMNS
    # every field a file or the API writes is one the services accept
    assert set(fields.API_WRITE_FIELDS) <= fields.SERVICE_FIELDS
    assert set(fields.FILE_COLUMNS) - {"tags"} <= fields.SERVICE_FIELDS
    # and each is a field of the model
    model_fields = {f.name for f in Customer._meta.get_fields()}
    assert set(fields.FORM_FIELDS) <= model_fields


# --- KeysetListView -------------------------------------------------------------------------------

_TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "page.html": "page|{{ sort }}|{% for c in page %}{{ c.family_name }},{% endfor %}|{{ query }}"
                        "|{{ page.count }}|{{ page.next_cursor }}",
                        "results.html": "results|{% for c in page %}{{ c.family_name }},{% endfor %}",
                    },
                )
            ]
        },
    }
]


class _CustomerKeysetView(KeysetListView):
    template_name = "page.html"
    results_template_name = "results.html"
    results_target = "results"
    orderings = CUSTOMER_ORDERINGS
    default_sort = "-created"

    def get_queryset(self):
        return Customer.objects.all()


def _get(params=None, **headers) -> str:
    request = RequestFactory().get("/list/", params or {}, headers=headers)
    request.session = SessionStore()  # a search's text is kept there, its links carry a token
    response = _CustomerKeysetView.as_view()(request)
    if hasattr(response, "render"):
        response.render()
    return response.content.decode()


@pytest.fixture
def three_customers(db):
    return [CustomerFactory(family_name=name) for name in ("Aoki", "Baba", "Chiba")]


@override_settings(TEMPLATES=_TEMPLATES, TSUNAGU_PAGE_SIZE=2)
def test_keyset_list_view_renders_the_full_page_with_a_whitelisted_sort_and_its_count(three_customers):
    # when a page is asked for with a sort that is not whitelisted, and a stale cursor parameter
    body = _get({"sort": "password", "q": "x", "after": "garbage"})
    # then the default sort is used, the cursor is not kept in the links, and the count is there
    kind, sort, names, query, count, next_cursor = body.split("|")
    # the search text travels as a session token (customers/search_tokens.py), never in the link
    assert (kind, sort, count) == ("page", "-created", "3")
    assert query.startswith("sort=password&amp;s=") and "q=x" not in query
    assert names == "Chiba,Baba,"
    # and the next page starts where this one ended
    assert _get({"sort": "name", "after": _get({"sort": "name"}).split("|")[5]}).split("|")[2] == "Chiba,"


@override_settings(TEMPLATES=_TEMPLATES, TSUNAGU_PAGE_SIZE=2)
def test_keyset_list_view_answers_an_htmx_swap_of_its_results_with_the_partial(three_customers):
    assert _get({"sort": "name"}, HX_Request="true", HX_Target="results") == "results|Aoki,Baba,"
    # an htmx request aimed elsewhere (the whole page's body) gets the page
    assert _get({"sort": "name"}, HX_Request="true", HX_Target="main").startswith("page|name|Aoki,Baba,")
