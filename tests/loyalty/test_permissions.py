"""One walk over every loyalty URL with every role (RELIABILITY.md: checks on view but not on edit)."""

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.wallet.config import config_forget
from tests.factories import CustomerFactory, RewardFactory, UserFactory, member_join, programme_with_tiers

pytestmark = pytest.mark.django_db

ROLES = ["Support", "Marketing", "Manager", None]
ALL = {"Support", "Marketing", "Manager"}
SETUP = {"Marketing", "Manager"}


def urls():
    programme = programme_with_tiers(name="Permissions club")
    tier = programme.tiers.first()
    reward = RewardFactory(programme=programme, points_cost=1)
    member = member_join(CustomerFactory(), programme)
    services.points_adjust(membership=member, points=100, reason="x", key="perm")
    redemption = services.points_redeem(membership=member, reward=reward, key="perm")
    customer = CustomerFactory()
    return {
        # name: (method, url, roles allowed); allowed answers are 200 or 302
        "members": ("get", reverse("loyalty:members"), ALL),
        "figures": ("get", reverse("loyalty:figures"), SETUP),
        "membership": ("get", member.get_absolute_url(), ALL),
        "join": ("get", reverse("loyalty:join", args=[customer.pk]), ALL),
        "join_post": ("post", reverse("loyalty:join", args=[customer.pk]), ALL),
        "status": ("post", reverse("loyalty:membership_status", args=[member.pk]), {"Manager"}),
        "redeem": ("get", reverse("loyalty:redeem", args=[member.pk]), ALL),
        "redeem_post": ("post", reverse("loyalty:redeem", args=[member.pk]), ALL),
        "cancel": ("post", reverse("loyalty:redemption_cancel", args=[redemption.pk]), {"Support", "Manager"}),
        "adjust": ("get", reverse("loyalty:adjust", args=[member.pk]), {"Manager"}),
        "adjust_post": ("post", reverse("loyalty:adjust", args=[member.pk]), {"Manager"}),
        "till": ("get", reverse("loyalty:till"), {"Support", "Manager"}),
        "till_post": ("post", reverse("loyalty:till"), {"Support", "Manager"}),
        "till_member": ("get", reverse("loyalty:till_member", args=[member.pk]), {"Support", "Manager"}),
        "till_redeem": ("post", reverse("loyalty:till_redeem", args=[member.pk]), {"Support", "Manager"}),
        "card_send": ("post", reverse("loyalty:card_send", args=[member.pk]), {"Support", "Manager"}),
        "card_reissue": ("post", reverse("loyalty:card_reissue", args=[member.pk]), {"Support", "Manager"}),
        "card_handover": ("get", reverse("loyalty:card_handover", args=[member.pk]), {"Support", "Manager"}),
        "programmes": ("get", reverse("loyalty:programmes"), ALL),
        "programme": ("get", programme.get_absolute_url(), ALL),
        "programme_create": ("get", reverse("loyalty:programme_create"), SETUP),
        "programme_create_post": ("post", reverse("loyalty:programme_create"), SETUP),
        "programme_update": ("get", reverse("loyalty:programme_update", args=[programme.pk]), SETUP),
        "programme_update_post": ("post", reverse("loyalty:programme_update", args=[programme.pk]), SETUP),
        "tier_create": ("get", reverse("loyalty:tier_create", args=[programme.pk]), SETUP),
        "tier_create_post": ("post", reverse("loyalty:tier_create", args=[programme.pk]), SETUP),
        "tier_update": ("get", reverse("loyalty:tier_update", args=[programme.pk, tier.pk]), SETUP),
        "tier_update_post": ("post", reverse("loyalty:tier_update", args=[programme.pk, tier.pk]), SETUP),
        "reward_create": ("get", reverse("loyalty:reward_create", args=[programme.pk]), SETUP),
        "reward_create_post": ("post", reverse("loyalty:reward_create", args=[programme.pk]), SETUP),
        "reward_update": ("get", reverse("loyalty:reward_update", args=[programme.pk, reward.pk]), SETUP),
        "reward_update_post": ("post", reverse("loyalty:reward_update", args=[programme.pk, reward.pk]), SETUP),
    }


@pytest.fixture(autouse=True)
def google_wallet(settings, tmp_path):
    """A wallet configured, so that the card handover page answers (without one it is not found)."""
    key = tmp_path / "google.json"
    key.write_text('{"client_email": "wallet@example.iam.gserviceaccount.com", "private_key": "unused"}')
    settings.TSUNAGU_GOOGLE_WALLET_ISSUER_ID = "3388000000000000001"
    settings.TSUNAGU_GOOGLE_WALLET_KEY_FILE = str(key)
    config_forget()
    yield
    config_forget()


@pytest.mark.parametrize("role", ROLES)
def test_every_loyalty_url_with_every_role(client, role):
    user = UserFactory(username=f"user-{role}", role=role)
    client.force_login(user)
    for name, (method, url, allowed) in urls().items():
        response = getattr(client, method)(url, {})
        if role in allowed:
            assert response.status_code in (200, 302), (name, role, response.status_code)
        else:
            assert response.status_code == 403, (name, role, response.status_code)


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name, (method, url, _allowed) in urls().items():
        response = getattr(client, method)(url, {})
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_only_managers_adjust_points():
    for role in ("Support", "Marketing"):
        assert not UserFactory(username=f"a-{role}", role=role).has_perm("loyalty.adjust_points")
    assert UserFactory(username="a-manager", role="Manager").has_perm("loyalty.adjust_points")


def test_the_membership_panel_and_the_navbar_follow_the_roles(client):
    customer = CustomerFactory()
    client.force_login(UserFactory(username="s", role="Support"))
    body = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="loyalty-panel"' in body and 'id="nav-loyalty"' in body
    assert reverse("loyalty:figures") not in client.get(reverse("home")).content.decode()
    client.force_login(UserFactory(username="nobody", role=None))
    assert client.get(reverse("home")).content.decode().count('id="nav-loyalty"') == 0
