"""Bearer tokens: ``Authorization: Bearer qa_…`` makes ``request.auth`` the ``ApiToken``.

``bearer`` guards every route; ``bearer_write`` guards the routes that change or delete
something (documents, conversations) and refuses a read-only token there with a 403.
Asking is not a write: it stores only the token user's own conversation. There is no
session authentication on the API (so no CSRF to handle); the docs page is public and
its "Authorize" button takes a token.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from apps.accounts.models import ApiToken
from apps.accounts.tokens import authenticate
from apps.api.errors import ApiError

MISSING = "Send your API token as the header `Authorization: Bearer <token>`."
INVALID = "The API token is not valid: it is unknown, expired or revoked, or its user is inactive."
READ_ONLY = "This token is read-only; a token that may change things is needed for this request."
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


class BearerToken(HttpBearer):
    def __init__(self, *, write: bool = False) -> None:
        super().__init__()
        self.write = write

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.strip().partition(" ")
        if not header:
            raise ApiError(401, MISSING, code="missing_token", headers=_CHALLENGE)
        if scheme.lower() != "bearer" or not raw.strip():
            raise ApiError(401, MISSING, code="malformed_authorization", headers=_CHALLENGE)
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = authenticate(token)
        if found is None:
            raise ApiError(401, INVALID, code="invalid_token", headers=_CHALLENGE)
        if self.write and found.read_only:
            raise ApiError(403, READ_ONLY, code="read_only_token")
        return found


bearer = BearerToken()
bearer_write = BearerToken(write=True)


def request_token(request: HttpRequest) -> ApiToken:
    """The token of an authenticated API request."""
    token = getattr(request, "auth", None)
    assert isinstance(token, ApiToken), "called outside a token-authenticated route"
    return token


def token_user(request: HttpRequest) -> User:
    """The user the request's token acts as."""
    return request_token(request).user
