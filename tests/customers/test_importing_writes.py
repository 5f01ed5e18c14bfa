"""What applying an import writes on PostgreSQL: only what changed (customers, tag links), and the search index's
new entries left pending until the flush after commit."""

import pytest

from crm.audit.models import CustomerEvent, CustomerTagEvent
from customers import services
from customers.importing import import_batch_apply, import_batch_create
from customers.models import Customer, CustomerTag, ImportBatch
from customers.tasks import search_index_flush_task
from tests.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def apply(content: bytes, *, by=None) -> ImportBatch:
    batch = import_batch_create(file_name="customers.csv", content=content, by=by)
    assert batch.errors == []
    return import_batch_apply(batch=batch, by=by)


def test_reimporting_unchanged_rows_rewrites_nothing(manager):
    # given: a customer as the file has them, with their tags
    customer = CustomerFactory(external_id="E-1", family_name="Sato", given_name="Hanako", email="e1@example.com")
    customer.tags.add(TagFactory(name="VIP"), TagFactory(name="Newsletter"))
    links = set(CustomerTag.objects.filter(customer=customer).values_list("pk", flat=True))
    updated_at = Customer.objects.get(pk=customer.pk).updated_at
    events = CustomerEvent.objects.count(), CustomerTagEvent.objects.count()

    # when: the same data is imported again (a shop's daily full export)
    batch = apply(b"external_id,family_name,given_name,email,tags\nE-1,Sato,Hanako,e1@example.com,vip;Newsletter\n")

    # then: the row counts as an update, but neither the customer, nor their tag links, nor the history change
    assert (batch.created_count, batch.updated_count) == (0, 1)
    assert Customer.objects.get(pk=customer.pk).updated_at == updated_at
    assert set(CustomerTag.objects.filter(customer=customer).values_list("pk", flat=True)) == links
    assert (CustomerEvent.objects.count(), CustomerTagEvent.objects.count()) == events


def test_reimporting_changed_tags_replaces_only_the_links_that_differ(manager):
    # given: tags A and B on a customer
    customer = CustomerFactory(external_id="E-1", family_name="Sato", email="e1@example.com")
    a, b = TagFactory(name="A"), TagFactory(name="B")
    customer.tags.add(a, b)
    kept = CustomerTag.objects.get(customer=customer, tag=b).pk

    # when: the file says B and C
    apply(b"external_id,tags\nE-1,B;C\n")

    # then: A is gone, B's link is the same row, C is new (with the customer's creation time, which the tag's
    # newest-first list reads); the customer's other fields are untouched
    assert sorted(customer.tags.values_list("name", flat=True)) == ["B", "C"]
    assert CustomerTag.objects.get(customer=customer, tag=b).pk == kept
    assert CustomerTag.objects.get(customer=customer, tag__name="C").customer_created_at == customer.created_at
    assert Customer.objects.get(pk=customer.pk).family_name == "Sato"


def test_an_empty_tags_cell_removes_every_tag_and_other_customers_keep_theirs(manager):
    # given
    customer = CustomerFactory(external_id="E-1", family_name="Sato", email="e1@example.com")
    other = CustomerFactory(external_id="E-2", family_name="Ito", email="e2@example.com")
    vip = TagFactory(name="VIP")
    customer.tags.add(vip)
    other.tags.add(vip)

    # when
    apply(b"external_id,family_name,tags\nE-1,Sato,\n")

    # then
    assert list(customer.tags.all()) == []
    assert list(other.tags.all()) == [vip]


def test_an_import_leaves_search_entries_pending_until_the_flush(manager):
    # given: a file of new customers
    lines = [f"N-{i},Tanaka{i:04d},n{i}@example.com" for i in range(300)]
    content = ("external_id,family_name,email\n" + "\n".join(lines) + "\n").encode()

    # when: applied (in the test's transaction: the flush published on commit does not run)
    apply(content)

    # then: search finds them from the pending list; the flush merges them once, the second run finds nothing
    assert Customer.objects.search("tanaka0123").count() == 1
    assert services.search_index_flush() > 0
    assert search_index_flush_task.apply().get() == 0
    assert Customer.objects.search("tanaka0123").count() == 1


def test_an_import_publishes_the_search_index_flush_after_commit(manager, settings, django_capture_on_commit_callbacks):
    # given: tasks run where they are published
    settings.CELERY_TASK_ALWAYS_EAGER = True
    lines = [f"N-{i},Tanaka{i:04d}" for i in range(300)]

    # when: the import's transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        apply(("external_id,family_name\n" + "\n".join(lines) + "\n").encode())

    # then: the flush ran after commit: nothing is left pending, and search still finds the new customers
    assert services.search_index_flush() == 0
    assert Customer.objects.search("tanaka0299").count() == 1


def test_new_customers_tag_links_carry_their_creation_time(manager):
    # when
    apply(b"external_id,family_name,tags\nN-1,Tanaka,VIP;Newsletter\n")

    # then
    customer = Customer.objects.get(external_id="N-1")
    links = CustomerTag.objects.filter(customer=customer)
    assert sorted(link.tag.name for link in links) == ["Newsletter", "VIP"]
    assert {link.customer_created_at for link in links} == {customer.created_at}
