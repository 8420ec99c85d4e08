"""The fetcher's conditional GET and its redirect filter (apps/knowledge/fetch.py)."""

from __future__ import annotations

import pytest

from apps.knowledge.fetch import PageStatusError, RedirectNotFollowed, fetch_url
from tests.sources.site import Page


def _get(site, path: str, **kwargs):
    return fetch_url(
        f"{site.base}{path}",
        max_bytes=1_000_000,
        timeout=2.0,
        max_redirects=3,
        allowed_private=frozenset({f"127.0.0.1:{site.port}"}),
        **kwargs,
    )


def test_a_current_etag_gets_304_with_no_body(site) -> None:
    first = _get(site, "/docs/a")
    assert first.status == 200 and first.etag == '"a-1"' and b"Travel" in first.data
    again = _get(site, "/docs/a", etag=first.etag)
    assert again.not_modified and again.data == b"" and again.etag == '"a-1"'
    assert site.asked("/docs/a")[-1]["headers"]["If-None-Match"] == '"a-1"'


def test_a_stale_etag_or_date_gets_the_page(site) -> None:
    assert not _get(site, "/docs/a", etag='"old"').not_modified
    first = _get(site, "/docs/b")
    assert first.last_modified == "Wed, 01 Jan 2025 10:00:00 GMT"
    assert _get(site, "/docs/b", last_modified=first.last_modified).not_modified
    assert not _get(site, "/docs/b", last_modified="Mon, 01 Jan 2024 10:00:00 GMT").not_modified


def test_a_gone_page_says_its_status(site) -> None:
    site.pages["/docs/b"] = Page(b"", status=410)
    with pytest.raises(PageStatusError) as caught:
        _get(site, "/docs/b")
    assert caught.value.status == 410 and "HTTP 410" in str(caught.value)


def test_a_redirect_the_caller_refuses_is_not_taken(site) -> None:
    with pytest.raises(RedirectNotFollowed) as caught:
        _get(site, "/docs/moved", follow=lambda url: "/docs/b" not in url)
    assert caught.value.location == f"{site.base}/docs/b"
    assert "/docs/b" not in site.paths()
    assert b"Hotel" in _get(site, "/docs/moved", follow=lambda url: True).data
