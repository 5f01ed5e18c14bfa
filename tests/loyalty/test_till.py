"""Till mode: find a member by a scanned card token or a typed member number, then record a purchase (which earns
points), redeem a reward and take in a voucher; who may; what the audit trail keeps."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crm.audit.models import AccessRecord
from loyalty import services
from loyalty.models import LedgerEntry, Redemption
from loyalty.services import cards
from tests.factories import CustomerFactory, RewardFactory, member_join
from tests.loyalty.conftest import refreshed
from touchpoints.models import Touchpoint

pytestmark = pytest.mark.django_db

KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')


@pytest.fixture
def till_client(support_client):
    return support_client


def test_a_scanned_token_opens_the_members_till_screen(till_client, member):
    token = cards.card_token(cards.card_for(member))
    response = till_client.post(reverse("loyalty:till"), {"q": f" {token.lower()} "})
    assert response["Location"] == reverse("loyalty:till_member", args=[member.pk])
    page = till_client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200 and member.member_number in body and 'id="till-balance">0<' in body
    assert AccessRecord.objects.filter(customer_ids=[member.customer_id], what="loyalty:till_member").exists()


def test_a_typed_member_number_opens_it_too_even_in_full_width_digits(till_client, member):
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in member.member_number)
    response = till_client.post(reverse("loyalty:till"), {"q": wide})
    assert response["Location"] == reverse("loyalty:till_member", args=[member.pk])


def test_a_revoked_or_unknown_token_is_refused(till_client, member):
    old = cards.card_token(cards.card_for(member))
    cards.card_reissue(membership=member)
    response = till_client.post(reverse("loyalty:till"), {"q": old})
    assert response.status_code == 200 and "replaced by a new one" in response.content.decode()
    unknown = till_client.post(reverse("loyalty:till"), {"q": "TC" + "A" * 32})
    assert "not known" in unknown.content.decode()
    nobody = till_client.post(reverse("loyalty:till"), {"q": "99999999"})
    assert "No member has this number" in nobody.content.decode()


def test_a_purchase_at_the_till_earns_points_once(till_client, member, django_capture_on_commit_callbacks):
    page = till_client.get(reverse("loyalty:till_member", args=[member.pk])).content.decode()
    key = KEY.search(page)[1]
    data = {"amount": "12800", "order_reference": "R-1", "key": key}
    with django_capture_on_commit_callbacks(execute=True):  # loyalty earns after the purchase's commit
        till_client.post(reverse("loyalty:till_purchase", args=[member.pk]), data)
        till_client.post(reverse("loyalty:till_purchase", args=[member.pk]), data)  # a double tap
    screen = till_client.get(reverse("loyalty:till_member", args=[member.pk])).content.decode()
    assert "Purchase of 12,800 JPY recorded." in screen
    assert 'id="till-balance">128<' in screen and "+128" in screen
    touchpoint = Touchpoint.objects.get(customer=member.customer)
    assert touchpoint.channel == "store" and touchpoint.order_reference == "R-1" and touchpoint.type.kind == "purchase"
    assert LedgerEntry.objects.get(membership=member).points == 128
    assert refreshed(member).purchase_count == 1


def test_bad_amounts_are_said_plainly(till_client, member):
    for amount in ("", "-5", "abc", "1e99", "0"):
        response = till_client.post(
            reverse("loyalty:till_purchase", args=[member.pk]), {"amount": amount, "key": "a" * 32}
        )
        assert response.status_code == 400
    assert not Touchpoint.objects.exists()


def test_redeeming_at_the_till_and_taking_in_the_voucher(till_client, member, club):
    services.points_adjust(membership=member, points=300, reason="gift", key="gift")
    reward = RewardFactory(programme=club, name="Coffee", points_cost=200)
    page = till_client.get(reverse("loyalty:till_member", args=[member.pk])).content.decode()
    key = KEY.findall(page)[-1]
    data = {"reward": reward.pk, "key": key}
    response = till_client.post(reverse("loyalty:till_redeem", args=[member.pk]), data, follow=True)
    till_client.post(reverse("loyalty:till_redeem", args=[member.pk]), data)  # a double tap
    redemption = Redemption.objects.get()
    assert redemption.voucher_code in response.content.decode() and refreshed(member).balance == 100
    used = till_client.post(
        reverse("loyalty:till_voucher", args=[member.pk]), {"code": redemption.voucher_code.replace("-", "").lower()}
    )
    assert used.status_code == 302
    redemption.refresh_from_db()
    assert redemption.used_at is not None and redemption.used_by.username == "support"
    again = till_client.post(reverse("loyalty:till_voucher", args=[member.pk]), {"code": redemption.voucher_code})
    assert again.status_code == 400 and "already used" in again.content.decode()


def test_a_voucher_of_another_member_or_cancelled_is_refused(till_client, member, club):
    other = member_join(CustomerFactory(), club)
    services.points_adjust(membership=other, points=300, reason="gift", key="other")
    reward = RewardFactory(programme=club, points_cost=100)
    theirs = services.points_redeem(membership=other, reward=reward, key="theirs")
    response = till_client.post(reverse("loyalty:till_voucher", args=[member.pk]), {"code": theirs.voucher_code})
    assert response.status_code == 400 and "No voucher of this member" in response.content.decode()
    services.redemption_cancel(redemption=theirs)
    response = till_client.post(reverse("loyalty:till_voucher", args=[other.pk]), {"code": theirs.voucher_code})
    assert "cancelled" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "allowed"), [("Support", True), ("Manager", True), ("Marketing", False), (None, False)]
)
def test_who_may_use_the_till(client, member, role, allowed):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username=f"till-{role}", role=role))
    for method, url in [
        ("get", reverse("loyalty:till")),
        ("get", reverse("loyalty:till_member", args=[member.pk])),
        ("post", reverse("loyalty:till_purchase", args=[member.pk])),
        ("post", reverse("loyalty:till_redeem", args=[member.pk])),
        ("post", reverse("loyalty:till_voucher", args=[member.pk])),
    ]:
        status = getattr(client, method)(url, {}).status_code
        assert (status != 403) is allowed, (role, url, status)
    assert Touchpoint.objects.count() == 0
