"""The OpenID Connect code flow against the real test provider: discovery, PKCE, state,
nonce and the ID token's signature, issuer and expiry are all checked, and every refusal
is a page with a sentence, never a sign-in and never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.sso import discovery
from apps.sso.models import OidcIdentity
from tests.accounts.oidc_flow import (
    authorize,
    callback,
    new_browser,
    params,
    provider_sign_in,
    sign_in,
    signed_in_username,
    start,
    with_params,
)
from tests.oidc_provider.fixtures import configure_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(sso) -> str:
    return sso.user("dana", "dana-pass", groups=["team-x"], email="dana@example.com")


def test_discovery_gives_the_providers_endpoints_and_keys(sso) -> None:
    metadata = discovery.provider_metadata()
    assert metadata.issuer == sso.issuer
    assert metadata.authorization_endpoint.startswith(sso.url)
    assert metadata.end_session_endpoint
    assert any(key["kty"] == "RSA" for key in discovery.signing_keys())


def test_the_button_starts_a_code_flow_with_state_nonce_and_an_s256_challenge(sso) -> None:
    url = start(new_browser())
    query = params(url)
    assert url.startswith(f"{sso.issuer}/authorize/")
    assert query["response_type"] == "code" and query["client_id"] == "qa-app"
    assert query["redirect_uri"] == "http://testserver/oidc/callback/"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["scope"] == "openid email profile groups"


def test_a_first_sign_in_creates_the_user_and_returns_to_next(sso, dana) -> None:
    browser = new_browser()
    response = sign_in(browser, sso, "dana", "dana-pass", next_url="/kb/")
    assert response.status_code == 302 and response["Location"] == "/kb/"
    assert signed_in_username(browser) == "dana"
    user = User.objects.get(username="dana")
    assert user.email == "dana@example.com" and not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser
    assert OidcIdentity.objects.get(user=user).subject == dana
    assert browser.app.get(reverse("knowledge:list")).status_code == 200


def test_a_next_on_another_site_is_not_followed(sso, dana) -> None:
    browser = new_browser()
    response = sign_in(browser, sso, "dana", "dana-pass", next_url="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == reverse("chat:ask")


def test_the_next_sign_in_is_the_same_user(sso, dana) -> None:
    sign_in(new_browser(), sso, "dana", "dana-pass")
    browser = new_browser()
    sign_in(browser, sso, "dana", "dana-pass")
    assert signed_in_username(browser) == "dana"
    assert User.objects.filter(username__startswith="dana").count() == 1


def test_a_wrong_state_is_refused(sso, dana) -> None:
    browser = new_browser()
    provider_sign_in(browser, sso, "dana", "dana-pass")
    answer = authorize(browser, start(browser))
    response = callback(browser, with_params(answer, state="forged-state-" + "x" * 30))
    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in response.content.decode()
    assert signed_in_username(browser) is None
    assert not User.objects.filter(username="dana").exists()


def test_an_answer_in_a_browser_that_started_no_sign_in_is_refused(sso, dana) -> None:
    browser = new_browser()
    provider_sign_in(browser, sso, "dana", "dana-pass")
    answer = authorize(browser, start(browser))
    stranger = new_browser()
    response = callback(stranger, answer)  # a code injected into someone else's browser
    assert response.status_code == 400 and signed_in_username(stranger) is None


def test_a_state_is_good_for_one_answer_only(sso, dana) -> None:
    browser = new_browser()
    provider_sign_in(browser, sso, "dana", "dana-pass")
    answer = authorize(browser, start(browser))
    assert callback(browser, answer).status_code == 302
    assert "oidc_states" in browser.app.session  # kept, without the state just used
    assert callback(browser, answer).status_code == 400


def test_a_forged_nonce_is_refused(sso, dana) -> None:
    browser = new_browser()
    provider_sign_in(browser, sso, "dana", "dana-pass")
    # The provider is asked with the app's state and PKCE challenge but another nonce: the
    # ID token it issues carries that nonce, not the one this browser's sign-in keeps.
    answer = authorize(browser, with_params(start(browser), nonce="n" * 32))
    response = callback(browser, answer)
    assert response.status_code == 403
    assert "does not belong to this sign-in (nonce)" in response.content.decode()
    assert signed_in_username(browser) is None


def test_a_code_answered_to_another_sign_in_fails_pkce_at_the_provider(sso, dana) -> None:
    browser = new_browser()
    provider_sign_in(browser, sso, "dana", "dana-pass")
    first, second = start(browser), start(browser)
    answer = authorize(browser, first)
    # The first sign-in's code, returned under the second's state: the app sends the
    # second's code verifier, which does not match the challenge the code was issued for.
    response = callback(browser, with_params(answer, state=params(second)["state"]))
    assert response.status_code == 403
    assert "refused to complete this sign-in" in response.content.decode()
    assert signed_in_username(browser) is None


@pytest.mark.parametrize(
    ("behaviour", "sentence"),
    [
        ("expired", "sign-in token has expired"),
        ("foreign-key", "signature is not the identity provider"),
        ("other-issuer", "issued by another identity provider"),
    ],
)
def test_a_bad_id_token_is_refused(settings, oidc_provider, behaviour, sentence) -> None:
    oidc_provider.client(f"qa-{behaviour}", behaviour=behaviour)
    configure_app(settings, oidc_provider, f"qa-{behaviour}")
    oidc_provider.user("erin", "erin-pass")
    browser = new_browser()
    response = sign_in(browser, oidc_provider, "erin", "erin-pass")
    assert response.status_code == 403
    assert sentence in response.content.decode().replace("&#x27;", "'")
    assert signed_in_username(browser) is None
    assert not User.objects.filter(username="erin").exists()


def test_a_token_for_another_client_is_refused(settings, sso, dana) -> None:
    sso.client("other-app")
    browser = new_browser()
    provider_sign_in(browser, sso, "dana", "dana-pass")
    answer = authorize(browser, with_params(start(browser), client_id="other-app"))
    # The code was issued to other-app; exchanging it as qa-app is refused by the provider.
    response = callback(browser, answer)
    assert response.status_code == 403 and signed_in_username(browser) is None


def test_the_provider_saying_no_is_shown_as_a_sentence(sso) -> None:
    browser = new_browser()
    state = params(start(browser))["state"]
    response = browser.app.get(
        reverse("sso:callback"),
        {"error": "access_denied", "error_description": "The user said no", "state": state},
    )
    assert response.status_code == 403
    assert (
        "The identity provider refused the sign-in: The user said no" in response.content.decode()
    )
    assert state not in browser.app.session["oidc_states"]


def test_hostile_callback_parameters_are_refused_without_an_error(sso) -> None:
    browser = new_browser()
    for query in ({"code": "\x00", "state": "\x00"}, {"code": "x" * 100_000, "state": "y"}, {}):
        response = browser.app.get(reverse("sso:callback"), query)
        assert 400 <= response.status_code < 500
