"""Settings of the sign-in through the identity provider (OpenID Connect, apps/sso),
imported by ``qa_site.settings``; read from the environment like the rest (``.env.example``)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from qa_site.env import env_bool, env_float, env_int, env_list, env_str

# --- Sign-in with the identity provider: OpenID Connect (apps/sso, mozilla-django-oidc) ---
# On when OIDC_ISSUER (or OIDC_DISCOVERY_URL) is set; endpoints and signing keys come from the
# provider's discovery document, fetched at the first sign-in and cached (not at start-up).
OIDC_ISSUER = env_str("OIDC_ISSUER").rstrip("/")
OIDC_DISCOVERY_URL = env_str(
    "OIDC_DISCOVERY_URL",
    f"{OIDC_ISSUER}/.well-known/openid-configuration" if OIDC_ISSUER else "",
)
OIDC_ENABLED = env_bool("OIDC_ENABLED", bool(OIDC_DISCOVERY_URL))
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the sign-out at the provider
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_TIMEOUT = env_float("OIDC_TIMEOUT_SECONDS", 10.0)
OIDC_DISCOVERY_CACHE_SECONDS = env_int("OIDC_DISCOVERY_CACHE_SECONDS", 3600)
OIDC_CLOCK_SKEW_SECONDS = env_int("OIDC_CLOCK_SKEW_SECONDS", 60)  # leeway on exp / iat
OIDC_BUTTON_LABEL = env_str("OIDC_BUTTON_LABEL", "Sign in with your organisation")
# Password sign-in only for superusers (/login/?password=1 or the admin's sign-in).
OIDC_SSO_ONLY = env_bool("OIDC_SSO_ONLY", False)
OIDC_CREATE_USERS = env_bool("OIDC_CREATE_USERS", True)
# Link a first sign-in to an existing user with the same verified e-mail (never a superuser).
OIDC_LINK_BY_EMAIL = env_bool("OIDC_LINK_BY_EMAIL", False)
# The claim listing the user's groups, mirrored into Django groups on every sign-in ("" = off).
# With a prefix and/or an allow-list only those groups are added or removed; without, all are.
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUPS_PREFIX = env_str("OIDC_GROUPS_PREFIX")
OIDC_GROUPS_ALLOWED = env_list("OIDC_GROUPS_ALLOWED", [])
OIDC_GROUPS_CREATE = env_bool("OIDC_GROUPS_CREATE", True)
# Members of this provider group are staff here, non-members not ("" = never from claims).
OIDC_STAFF_GROUP = env_str("OIDC_STAFF_GROUP")
OIDC_LOGOUT_AT_PROVIDER = env_bool("OIDC_LOGOUT_AT_PROVIDER", True)
if OIDC_ENABLED and not (OIDC_DISCOVERY_URL and OIDC_RP_CLIENT_ID):
    raise ImproperlyConfigured(
        "OIDC sign-in needs OIDC_ISSUER (or OIDC_DISCOVERY_URL) and OIDC_CLIENT_ID"
    )
if OIDC_SSO_ONLY and not OIDC_ENABLED:
    raise ImproperlyConfigured("OIDC_SSO_ONLY=1 needs OIDC sign-in configured (OIDC_ISSUER)")
