"""Personal API tokens: stored hashed, shown once, refused when anything is wrong with them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.tokens import authenticate, create_token, hash_token
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

KNOWLEDGE_BASES = "/api/v1/knowledge-bases"


def test_a_token_is_stored_as_a_hash_and_finds_its_user(alice) -> None:
    token, raw = create_token(alice, "bot")
    assert raw.startswith(f"qa_{token.prefix}_") and raw not in token.secret_hash
    assert token.secret_hash == hash_token(raw)
    assert not ApiToken.objects.filter(secret_hash__contains=raw[15:]).exists()
    found = authenticate(raw)
    assert found == token and found.user == alice


def test_a_token_with_a_changed_secret_is_refused(alice) -> None:
    _, raw = create_token(alice, "bot")
    assert authenticate(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert authenticate("qa_" + "x" * 200) is None and authenticate("") is None


def test_expired_revoked_and_deactivated_tokens_are_refused(alice, bob) -> None:
    expired, raw_expired = create_token(alice, "old", expires_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, raw_revoked = create_token(alice, "gone")
    revoked.revoke()
    _, raw_bob = create_token(bob, "bob's")
    bob.is_active = False
    bob.save()
    assert authenticate(raw_expired) is None
    assert authenticate(raw_revoked) is None
    assert authenticate(raw_bob) is None


def test_last_used_is_written_at_most_once_a_minute(alice, django_assert_num_queries) -> None:
    token, raw = create_token(alice, "bot")
    with django_assert_num_queries(2):  # the lookup, then the first use recorded
        authenticate(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # the lookup only
        authenticate(raw)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_the_expiry_must_be_a_sensible_number_of_days(alice) -> None:
    with pytest.raises(ValueError, match="1 to 3650 days"):
        create_token(alice, "bot", expires_days=0)


# --- Over the API ---


def _error(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        ("Token abc", "malformed_authorization"),
        ("Bearer", "malformed_authorization"),
        ("Bearer qa_nope", "invalid_token"),
        ("Bearer " + "\u00e9" * 50, "invalid_token"),
    ],
)
def test_requests_without_a_valid_token_get_a_json_401(alice, header, code) -> None:
    client = ApiClient(None)
    if header:
        client.headers = {"Authorization": header}
    response = client.get(KNOWLEDGE_BASES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    error = _error(response)
    assert error["type"] == "authentication_error" and error["code"] == code
    assert "Authorization: Bearer" in error["message"] or "not valid" in error["message"]


def test_an_expired_or_revoked_token_gets_a_401(alice) -> None:
    expired, raw_expired = create_token(alice, "old", expires_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    revoked, raw_revoked = create_token(alice, "gone")
    revoked.revoke()
    for raw in (raw_expired, raw_revoked):
        response = ApiClient(raw).get(KNOWLEDGE_BASES)
        assert response.status_code == 401 and _error(response)["code"] == "invalid_token"


def test_a_read_only_token_reads_and_asks_but_may_not_delete(alice, api_as) -> None:
    api = api_as(alice, read_only=True)
    assert api.get(KNOWLEDGE_BASES).status_code == 200
    asked = api.post("/api/v1/ask", {"question": "Anything?"})
    assert asked.status_code == 200
    conversation = asked.json()["conversation"]
    response = api.delete(f"/api/v1/conversations/{conversation}")
    assert response.status_code == 403
    error = _error(response)
    assert error["type"] == "permission_error" and error["code"] == "read_only_token"
    assert api_as(alice).delete(f"/api/v1/conversations/{conversation}").status_code == 200


# --- The command ---


def test_the_command_prints_a_working_token_once(alice) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_token", "alice", "--name", "nightly", "--expires-days", "30", "--read-only",
        stdout=out, stderr=err,
    )  # fmt: skip
    raw = out.getvalue().strip()
    token = authenticate(raw)
    assert token is not None and token.name == "nightly" and token.read_only
    assert token.expires_at is not None and 29 <= (token.expires_at - timezone.now()).days <= 30
    assert "shown once" in err.getvalue() and raw not in err.getvalue()


def test_the_command_refuses_an_unknown_user_with_a_sentence(db) -> None:
    with pytest.raises(CommandError, match="There is no user named 'nobody'"):
        call_command("create_api_token", "nobody", stdout=StringIO())


def test_the_command_refuses_a_senseless_expiry(alice) -> None:
    with pytest.raises(CommandError, match="--expires-days must be between"):
        call_command("create_api_token", "alice", "--expires-days", "0", stdout=StringIO())


# --- The tokens page ---


def test_the_tokens_page_shows_a_new_token_once_and_lists_it(client, alice) -> None:
    client.force_login(alice)
    url = reverse("accounts:tokens")
    response = client.post(url, {"name": "team\x00 bot", "expires_days": "30", "read_only": "on"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    raw = response.context["raw_token"]
    assert raw and raw in response.content.decode()
    token = authenticate(raw)
    assert token is not None and token.name == "team bot" and token.read_only
    listing = client.get(url).content.decode()
    assert raw not in listing and "team bot" in listing and f"qa_{token.prefix}_" in listing


def test_revoking_from_the_page_stops_the_token(client, alice) -> None:
    token, raw = create_token(alice, "bot")
    client.force_login(alice)
    response = client.post(reverse("accounts:revoke", args=[token.pk]))
    assert response.status_code == 302
    assert authenticate(raw) is None
    assert "revoked" in client.get(reverse("accounts:tokens")).content.decode()


def test_another_users_token_cannot_be_revoked(client, alice, bob) -> None:
    token, raw = create_token(alice, "bot")
    client.force_login(bob)
    assert client.post(reverse("accounts:revoke", args=[token.pk])).status_code == 404
    assert authenticate(raw) is not None


def test_the_page_refuses_a_blank_name_and_a_made_up_expiry(client, alice) -> None:
    client.force_login(alice)
    response = client.post(reverse("accounts:tokens"), {"name": " \x01 ", "expires_days": "5"})
    assert response.status_code == 200 and not ApiToken.objects.exists()
    assert "Please name the token." in response.content.decode()


def test_a_browser_session_without_a_token_does_not_open_the_api(client, alice) -> None:
    """The API reads the bearer token only, so a page elsewhere cannot ride the cookie
    (no CSRF surface): a signed-in browser gets 401 like anyone without a token."""
    client.force_login(alice)
    response = client.get(reverse("api:conversations"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"
    response = client.post(
        reverse("api:ask"), {"question": "hello"}, content_type="application/json"
    )
    assert response.status_code == 401
