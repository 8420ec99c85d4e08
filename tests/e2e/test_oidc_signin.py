"""A person in a real Chromium signs in through the real test OpenID provider: the button,
the provider's own sign-in page, back signed in with the provider's groups (so a knowledge
base shared with "team-x" is readable), sign-out at the provider, and removal from the
provider's group taking effect at the next sign-in. SSO-only mode hides the password form."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from apps.knowledge.models import KnowledgeBase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in_at_the_provider(page: Page, username: str, password: str) -> None:
    expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
    page.get_by_label("Provider user name").fill(username)
    page.get_by_label("Provider password").fill(password)
    page.get_by_role("button", name="Continue to the application").click()


def test_signing_in_through_the_provider_follows_its_groups_and_sign_out_ends_its_session(
    page: Page, live_server, sso
) -> None:
    alice = User.objects.create_user("alice", is_staff=True)
    handbook = KnowledgeBase.objects.create(name="Team X handbook", owner=alice)
    handbook.groups.add(Group.objects.create(name="team-x"))
    sso.user("dana", "dana-pass", groups=["team-x"], email="dana@example.com")

    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/kb/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/kb/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    _sign_in_at_the_provider(page, "dana", "dana-pass")
    expect(page).to_have_url(f"{live_server.url}/kb/")
    expect(page.get_by_text("Team X handbook")).to_be_visible()
    assert User.objects.get(username="dana").groups.filter(name="team-x").exists()

    page.get_by_role("button", name="Sign out dana").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    sso.user("dana", "dana-pass", groups=[])  # removed from the group at the provider

    page.get_by_role("link", name="Sign in with Test IdP").click()
    _sign_in_at_the_provider(page, "dana", "dana-pass")  # asked again: its session ended
    expect(page.get_by_role("heading", name="Ask your knowledge bases")).to_be_visible()
    page.goto(f"{live_server.url}/kb/")
    expect(page.get_by_text("Team X handbook")).to_have_count(0)
    assert not User.objects.get(username="dana").groups.exists()
    assert violations == []


def test_sso_only_shows_the_button_without_a_password_form(
    page: Page, live_server, settings, sso
) -> None:
    settings.OIDC_SSO_ONLY = True
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("link", name="Sign in with Test IdP")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_count(0)
    page.goto(f"{live_server.url}/login/?password=1")
    expect(page.get_by_label("Password")).to_be_visible()
