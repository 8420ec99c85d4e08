"""django-axes' sign-in throttle, for sign-ins that come with a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class ThrottlingBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes is untyped
    """Refuses locked-out sign-ins (django-axes); authenticates nobody itself.

    Every sign-in over HTTP (the sign-in page, the admin's) passes its request. Calls
    without one (Django's test ``Client.login``, a shell) have no address to throttle:
    they go on to the next backend instead of failing, as the stock backend would.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None
