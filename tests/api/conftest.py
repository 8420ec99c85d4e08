"""Tokens and an API client for the API tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts.tokens import create_token


class ApiClient:
    """The Django test client with ``Authorization: Bearer <token>`` on every request."""

    def __init__(self, raw_token: str | None) -> None:
        self.client = Client(raise_request_exception=False)
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.client.get(path, params or {}, headers=self.headers, **extra)

    def post(self, path: str, body: Any = None, *, multipart: bool = False, **extra: Any) -> Any:
        """``body`` as JSON, or as a multipart form (files) with ``multipart=True``."""
        if multipart:
            return self.client.post(path, body or {}, headers=self.headers, **extra)
        extra.setdefault("content_type", "application/json")
        return self.client.post(path, body, headers=self.headers, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.client.delete(path, headers=self.headers, **extra)


@pytest.fixture
def token_for() -> Callable[..., str]:
    """``token_for(user, read_only=False, expires_days=None)``: a new raw token."""

    def make(user: User, **options: Any) -> str:
        return create_token(user, "test token", **options)[1]

    return make


@pytest.fixture
def api_as(token_for: Callable[..., str]) -> Callable[..., ApiClient]:
    """``api_as(user)``: a client whose requests carry a fresh token of ``user``."""

    def make(user: User | None, **options: Any) -> ApiClient:
        return ApiClient(token_for(user, **options) if user is not None else None)

    return make
