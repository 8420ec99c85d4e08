"""Who a provider account signs in as, and which groups it gets: never a local account by a
matching name or e-mail (unless configured), the provider's groups mirrored at every
sign-in within the configured prefix / allow-list, staff only through OIDC_STAFF_GROUP."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from apps.knowledge.models import KnowledgeBase
from apps.sso.users import free_username
from tests.accounts.oidc_flow import new_browser, sign_in, signed_in_username

pytestmark = pytest.mark.django_db


def test_a_local_account_with_the_same_name_and_email_is_not_taken_over(sso) -> None:
    local = User.objects.create_user("frank", email="frank@example.com", password="local-pw")
    sso.user("frank", "frank-pass", email="frank@example.com")
    browser = new_browser()
    assert sign_in(browser, sso, "frank", "frank-pass").status_code == 302
    assert signed_in_username(browser) == "frank-2"
    local.refresh_from_db()
    assert local.check_password("local-pw") and not local.oidc_identities.exists()


def test_a_verified_email_links_an_existing_user_when_configured(settings, sso) -> None:
    settings.OIDC_LINK_BY_EMAIL = True
    local = User.objects.create_user("gina.local", email="Gina@Example.com")
    sso.user("gina", "gina-pass", email="gina@example.com")
    browser = new_browser()
    sign_in(browser, sso, "gina", "gina-pass")
    assert signed_in_username(browser) == "gina.local"
    assert local.oidc_identities.count() == 1


def test_a_superuser_is_never_linked_by_email(settings, sso) -> None:
    settings.OIDC_LINK_BY_EMAIL = True
    User.objects.create_superuser("root", email="hal@example.com", password="root-pw")
    sso.user("hal", "hal-pass", email="hal@example.com")
    browser = new_browser()
    sign_in(browser, sso, "hal", "hal-pass")
    assert signed_in_username(browser) == "hal"


def test_without_automatic_accounts_an_unknown_account_is_refused(settings, sso) -> None:
    settings.OIDC_CREATE_USERS = False
    sso.user("ivan", "ivan-pass")
    browser = new_browser()
    response = sign_in(browser, sso, "ivan", "ivan-pass")
    assert response.status_code == 403 and "ask an administrator" in response.content.decode()
    assert not User.objects.filter(username="ivan").exists()


def test_a_deactivated_user_cannot_sign_in_through_the_provider(sso) -> None:
    sso.user("jo", "jo-pass")
    sign_in(new_browser(), sso, "jo", "jo-pass")
    User.objects.filter(username="jo").update(is_active=False)
    browser = new_browser()
    response = sign_in(browser, sso, "jo", "jo-pass")
    assert response.status_code == 403 and signed_in_username(browser) is None


def test_deactivating_a_user_ends_their_provider_session_here(sso) -> None:
    sso.user("jo", "jo-pass")
    browser = new_browser()
    sign_in(browser, sso, "jo", "jo-pass")
    assert browser.app.get(reverse("knowledge:list")).status_code == 200
    User.objects.filter(username="jo").update(is_active=False)
    assert browser.app.get(reverse("knowledge:list")).status_code == 302


def test_groups_follow_the_provider_at_every_sign_in(sso) -> None:
    alice = User.objects.create_user("alice", is_staff=True)
    team_x = Group.objects.create(name="team-x")
    base = KnowledgeBase.objects.create(name="Team X handbook", owner=alice)
    base.groups.add(team_x)
    sso.user("kim", "kim-pass", groups=["team-x", "new-team"])
    sign_in(new_browser(), sso, "kim", "kim-pass")
    kim = User.objects.get(username="kim")
    assert sorted(kim.groups.values_list("name", flat=True)) == ["new-team", "team-x"]
    assert list(KnowledgeBase.objects.readable_by(kim)) == [base]

    sso.user("kim", "kim-pass", groups=["new-team"])
    sign_in(new_browser(), sso, "kim", "kim-pass")
    assert list(kim.groups.values_list("name", flat=True)) == ["new-team"]
    assert not KnowledgeBase.objects.readable_by(kim).exists()


def test_with_a_prefix_only_those_groups_are_managed(settings, sso) -> None:
    settings.OIDC_GROUPS_PREFIX = "kb-"
    settings.OIDC_GROUPS_ALLOWED = ["writers"]
    Group.objects.create(name="admins")
    sso.user("lee", "lee-pass", groups=["kb-sales", "writers", "admins"])
    sign_in(new_browser(), sso, "lee", "lee-pass")
    lee = User.objects.get(username="lee")
    lee.groups.add(Group.objects.create(name="given-by-hand"), Group.objects.create(name="kb-old"))
    sign_in(new_browser(), sso, "lee", "lee-pass")
    assert sorted(lee.groups.values_list("name", flat=True)) == [
        "given-by-hand",
        "kb-sales",
        "writers",
    ]


def test_unknown_groups_are_not_created_when_told_not_to(settings, sso) -> None:
    settings.OIDC_GROUPS_CREATE = False
    Group.objects.create(name="exists")
    sso.user("max", "max-pass", groups=["exists", "does-not-exist"])
    sign_in(new_browser(), sso, "max", "max-pass")
    assert list(User.objects.get(username="max").groups.values_list("name", flat=True)) == [
        "exists"
    ]
    assert not Group.objects.filter(name="does-not-exist").exists()


def test_staff_comes_from_the_configured_group_only(settings, sso) -> None:
    sso.user("nia", "nia-pass", groups=["kb-staff"])
    sign_in(new_browser(), sso, "nia", "nia-pass")
    assert not User.objects.get(username="nia").is_staff  # not configured: never
    settings.OIDC_STAFF_GROUP = "kb-staff"
    sign_in(new_browser(), sso, "nia", "nia-pass")
    nia = User.objects.get(username="nia")
    assert nia.is_staff and not nia.is_superuser
    sso.user("nia", "nia-pass", groups=[])
    sign_in(new_browser(), sso, "nia", "nia-pass")
    assert not User.objects.get(username="nia").is_staff


def test_an_odd_provider_user_name_becomes_a_valid_unique_one(sso) -> None:
    User.objects.create_user("o-brien")
    sso.user("o brien\u202e", "ob-pass")
    browser = new_browser()
    sign_in(browser, sso, "o brien\u202e", "ob-pass")
    assert signed_in_username(browser) == "o-brien-2"


def test_free_username_ignores_case_and_counts_up() -> None:
    User.objects.create_user("Pat")
    User.objects.create_user("pat-2")
    assert free_username("pat") == "pat-3"
    assert free_username("quinn") == "quinn"


def test_the_admin_lists_identity_links_read_only(client, sso) -> None:
    sso.user("ola", "ola-pass")
    sign_in(new_browser(), sso, "ola", "ola-pass")
    client.force_login(User.objects.create_superuser("root", password="root-password"))
    listing = client.get(reverse("admin:sso_oidcidentity_changelist"))
    assert listing.status_code == 200 and "ola" in listing.content.decode()
    assert client.get(reverse("admin:sso_oidcidentity_add")).status_code == 403
