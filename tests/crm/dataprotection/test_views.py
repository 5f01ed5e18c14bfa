"""The privacy pages: every URL with every role, the download recorded as an export, the erasure's confirmation."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from crm.audit.models import AccessRecord
from crm.dataprotection import services
from crm.dataprotection.models import DataRequest
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _urls(customer, disclosure, erasure) -> list[tuple[str, str, dict]]:
    return [
        ("get", reverse("dataprotection:list"), {}),
        ("get", reverse("dataprotection:create", args=[customer.pk, "disclosure"]), {}),
        ("get", reverse("dataprotection:create", args=[customer.pk, "erasure"]), {}),
        ("post", reverse("dataprotection:create", args=[customer.pk, "disclosure"]), {"received_via": "email"}),
        ("get", reverse("dataprotection:detail", args=[disclosure.pk]), {}),
        ("get", reverse("dataprotection:detail", args=[erasure.pk]), {}),
        ("post", reverse("dataprotection:download", args=[disclosure.pk]), {}),
        ("post", reverse("dataprotection:erase", args=[erasure.pk]), {"confirmation": "wrong"}),
    ]


@pytest.mark.parametrize("role", ["Manager", "Support", "Marketing", None])
def test_only_managers_open_the_privacy_pages(role, manager):
    # given
    customer = CustomerFactory()
    disclosure = services.data_request_record(customer=customer, kind="disclosure", received_via="email", by=manager)
    erasure = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    client = login(UserFactory(role=role)) if role else Client()

    for method, url, data in _urls(customer, disclosure, erasure):
        # when
        response = getattr(client, method)(url, data)

        # then
        if role is None:
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        elif role == "Manager":
            assert response.status_code in (200, 302), (url, response.status_code)
        else:
            assert response.status_code == 403, (role, url, response.status_code)
    # and: nothing was erased by anyone, and only the manager's disclosure was recorded
    customer.refresh_from_db()
    assert customer.email
    assert DataRequest.objects.filter(kind="disclosure").count() == (2 if role == "Manager" else 1)


def test_the_pages_are_not_stored_and_the_list_is_in_the_navigation(manager_client, manager):
    customer = CustomerFactory()
    data_request = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    for url in (reverse("dataprotection:list"), reverse("dataprotection:detail", args=[data_request.pk])):
        response = manager_client.get(url)
        assert "no-store" in response["Cache-Control"]
    home = manager_client.get(reverse("home")).content.decode()
    assert reverse("dataprotection:list") in home


def test_the_customer_page_has_the_buttons_for_managers_only(manager, support):
    customer = CustomerFactory()
    url = reverse("customers:detail", args=[customer.pk])
    assert 'id="privacy-erasure"' in login(manager).get(url).content.decode()
    assert 'id="privacy-panel"' not in login(support).get(url).content.decode()


def test_recording_then_downloading_a_disclosure(manager_client, manager):
    # given
    customer = CustomerFactory(email="sato@example.jp")

    # when: recorded from the customer page's button
    response = manager_client.post(
        reverse("dataprotection:create", args=[customer.pk, "disclosure"]), {"received_via": "phone", "note": "ID seen"}
    )
    data_request = DataRequest.objects.get()
    assert response["Location"] == data_request.get_absolute_url()
    assert (data_request.kind, data_request.handled_by, data_request.note) == ("disclosure", manager, "ID seen")

    # and: downloaded
    response = manager_client.post(reverse("dataprotection:download", args=[data_request.pk]))

    # then: a ZIP named without personal data, not cached, and an export in the access log
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="disclosure-{data_request.pk}.zip"'
    assert "no-store" in response["Cache-Control"]
    assert "sato@example.jp" in zipfile.ZipFile(io.BytesIO(response.content)).read("customer.json").decode()
    record = AccessRecord.objects.get(how=AccessRecord.How.EXPORT)
    assert (record.customer_ids, record.user_id, record.what) == (
        [customer.pk],
        manager.pk,
        "dataprotection:disclosure",
    )
    data_request.refresh_from_db()
    assert data_request.status == DataRequest.Status.COMPLETED


def test_a_download_is_only_a_post(manager_client, manager):
    customer = CustomerFactory()
    data_request = services.data_request_record(customer=customer, kind="disclosure", received_via="email", by=manager)
    assert manager_client.get(reverse("dataprotection:download", args=[data_request.pk])).status_code == 405
    assert not AccessRecord.objects.filter(how=AccessRecord.How.EXPORT).exists()


def test_the_erasure_needs_the_customer_number_typed(manager_client, manager):
    # given
    customer = CustomerFactory(email="suzuki@example.jp")
    data_request = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    url = reverse("dataprotection:erase", args=[data_request.pk])

    # when: a wrong number, then the right one
    wrong = manager_client.post(url, {"confirmation": "12345678"})
    customer.refresh_from_db()
    assert wrong.status_code == 200 and customer.email == "suzuki@example.jp"
    assert "Type the customer" in wrong.content.decode()
    right = manager_client.post(url, {"confirmation": str(customer.pk)})

    # then
    assert right.status_code == 302
    customer.refresh_from_db()
    assert customer.email == "" and customer.family_name == "[erased]"
    page = manager_client.get(right["Location"]).content.decode()
    assert "Completed" in page and 'id="erasure-form"' not in page


def test_an_unknown_kind_or_customer_is_not_found(manager_client):
    customer = CustomerFactory()
    assert manager_client.get(reverse("dataprotection:create", args=[customer.pk, "retention"])).status_code == 404
    assert manager_client.get(reverse("dataprotection:create", args=[999999, "erasure"])).status_code == 404
    assert manager_client.get(reverse("dataprotection:detail", args=[999999])).status_code == 404


def test_the_pages_speak_japanese(manager_client, manager):
    customer = CustomerFactory()
    data_request = services.data_request_record(customer=customer, kind="erasure", received_via="email", by=manager)
    detail = manager_client.get(
        reverse("dataprotection:detail", args=[data_request.pk]), HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert "個人情報を消去" in detail and "確認のため顧客番号を入力" in detail
    assert f"顧客番号は {customer.pk} です" in detail
    assert "Erase the personal data" not in detail
    listing = manager_client.get(reverse("dataprotection:list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "個人情報の請求" in listing and "消去" in listing and "受付済み" in listing
    form = manager_client.get(
        reverse("dataprotection:create", args=[customer.pk, "disclosure"]), HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert "請求を記録" in form and "受付方法" in form


def test_the_list_costs_the_same_few_queries_for_many_requests(manager_client, manager, django_assert_max_num_queries):
    for _ in range(30):
        services.data_request_record(customer=CustomerFactory(), kind="disclosure", received_via="email", by=manager)
    with django_assert_max_num_queries(8):
        response = manager_client.get(reverse("dataprotection:list"))
    assert len(response.context["requests"]) == 30


def test_the_list_says_the_retention_policy_is_off_by_default(manager_client):
    page = manager_client.get(reverse("dataprotection:list")).content.decode()
    assert 'id="retention-off"' in page and "TSUNAGU_RETENTION_INACTIVE_YEARS" in page


def test_the_list_counts_the_customers_due_at_the_next_run(manager_client, settings):
    # given: a 2-year policy, two customers inactive for 3 years, one active last year
    import datetime as dt

    from django.utils import timezone

    settings.TSUNAGU_RETENTION_INACTIVE_YEARS = 2
    now = timezone.now()
    for _ in range(2):
        CustomerFactory(last_activity_at=now - dt.timedelta(days=3 * 366))
    CustomerFactory(last_activity_at=now - dt.timedelta(days=300))
    # when
    response = manager_client.get(reverse("dataprotection:list"))
    # then
    assert response.context["retention"].due == 2
    page = response.content.decode()
    assert "no activity for 2 years" in page and "Due at the next run: 2 customers" in page


def test_the_list_filters_by_kind(manager_client, manager):
    for kind in ("disclosure", "erasure"):
        services.data_request_record(customer=CustomerFactory(), kind=kind, received_via="email", by=manager)
    erasures = manager_client.get(reverse("dataprotection:list"), {"kind": "erasure"})
    assert [r.kind for r in erasures.context["requests"]] == ["erasure"]
    unknown = manager_client.get(reverse("dataprotection:list"), {"kind": "<script>"})
    assert unknown.status_code == 200 and len(unknown.context["requests"]) == 2


def test_the_retention_policy_speaks_japanese(manager_client, settings):
    settings.TSUNAGU_RETENTION_INACTIVE_YEARS = 3
    listing = manager_client.get(reverse("dataprotection:list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "3年間活動のない顧客は毎晩匿名化" in listing and "次回の対象：0名" in listing
