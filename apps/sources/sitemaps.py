"""Sitemaps read by ultimate-sitemap-parser, every request made by our own fetcher.

The library fetches sub-sitemaps (a sitemap index) through a web client it is given; ours
answers from the copy of the sitemap the sync already fetched, and fetches any other URL
through ``PoliteFetcher`` — the SSRF checks, the size and time caps and the polite delay
apply to every request, and nothing goes through the library's own ``requests`` client.
"""

from __future__ import annotations

from usp.fetch_parse import SitemapFetcher
from usp.objects.sitemap import InvalidSitemap
from usp.web_client.abstract_client import (
    AbstractWebClient,
    AbstractWebClientResponse,
    AbstractWebClientSuccessResponse,
    WebClientErrorResponse,
)

from apps.knowledge.errors import ExtractionError
from apps.knowledge.fetch import Fetched, PageStatusError
from apps.sources.fetching import PoliteFetcher
from apps.sources.scope import normalise_url


class _Response(AbstractWebClientSuccessResponse):
    def __init__(self, fetched: Fetched) -> None:
        self._fetched = fetched

    def status_code(self) -> int:
        return self._fetched.status

    def status_message(self) -> str:
        return "OK"

    def header(self, case_insensitive_name: str) -> str | None:
        if case_insensitive_name.lower() == "content-type":
            return self._fetched.content_type or None
        return None

    def raw_data(self) -> bytes:
        return self._fetched.data

    def url(self) -> str:
        return self._fetched.url


class SafeWebClient(AbstractWebClient):
    """usp's web client interface over our fetcher. Failures are never "retryable": the
    library would sleep and ask again five times; the next sync is our retry."""

    def __init__(self, fetcher: PoliteFetcher, preloaded: dict[str, Fetched]) -> None:
        self._fetcher = fetcher
        self._preloaded = dict(preloaded)
        self.errors: list[str] = []

    def set_max_response_data_length(self, max_response_data_length: int | None) -> None:
        """Our fetcher's own cap (URL_FETCH_MAX_BYTES) applies instead."""

    def get(self, url: str) -> AbstractWebClientResponse:
        if url in self._preloaded:
            return _Response(self._preloaded.pop(url))
        try:
            return _Response(self._fetcher.get(url))
        except PageStatusError as exc:
            self.errors.append(str(exc))
            return WebClientErrorResponse(f"{exc.status} {exc}", retryable=False)
        except ExtractionError as exc:
            self.errors.append(str(exc))
            return WebClientErrorResponse(str(exc), retryable=False)


def sitemap_page_urls(fetched: Fetched, fetcher: PoliteFetcher) -> tuple[list[str], list[str]]:
    """The page URLs a sitemap (or sitemap index, or a tree of them) lists, normalised, in
    order, once each; and the problems met (a sub-sitemap that failed, an invalid one)."""
    client = SafeWebClient(fetcher, {fetched.url: fetched})
    tree = SitemapFetcher(url=fetched.url, recursion_level=0, web_client=client).sitemap()
    problems = list(client.errors)
    if isinstance(tree, InvalidSitemap):
        problems.append(f"The sitemap at {fetched.url} could not be read: {tree.reason}")
    urls: dict[str, None] = {}
    for page in tree.all_pages():
        normal = normalise_url(page.url)
        if normal is not None:
            urls[normal] = None
    return list(urls), problems
