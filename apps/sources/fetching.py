"""Every request of a sync: through the SSRF-checked fetcher (apps/knowledge/fetch.py),
one host at a time politely, and only where robots.txt allows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from django.conf import settings

from apps.knowledge.errors import ExtractionError
from apps.knowledge.fetch import USER_AGENT, Fetched, PageStatusError, fetch_url
from apps.sources.scope import origin_url

_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]


@dataclass
class PoliteFetcher:
    """GETs with the URL-ingestion limits and address checks, at least ``delay`` seconds
    apart per host (more when that host's robots.txt asks for a Crawl-delay)."""

    delay: float
    host_delays: dict[str, float] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls) -> PoliteFetcher:
        return cls(delay=settings.SOURCES_CRAWL_DELAY_SECONDS)

    def get(
        self,
        url: str,
        *,
        etag: str = "",
        last_modified: str = "",
        follow: Callable[[str], bool] | None = None,
    ) -> Fetched:
        host = urlsplit(url).netloc.lower()
        self._wait(host)
        try:
            return fetch_url(
                url,
                max_bytes=settings.URL_FETCH_MAX_BYTES,
                timeout=settings.URL_FETCH_TIMEOUT_SECONDS,
                max_redirects=settings.URL_FETCH_MAX_REDIRECTS,
                allowed_private=frozenset(settings.URL_FETCH_ALLOWED_PRIVATE_HOSTS),
                etag=etag,
                last_modified=last_modified,
                follow=follow,
            )
        finally:
            self._last[host] = time.monotonic()

    def _wait(self, host: str) -> None:
        last = self._last.get(host)
        if last is None:
            return
        pause = max(self.delay, self.host_delays.get(host, 0.0)) - (time.monotonic() - last)
        if pause > 0:
            time.sleep(pause)


@dataclass
class Robots:
    """robots.txt of each host, fetched once per sync through the same fetcher.

    As RFC 9309 says: a robots.txt that is missing (any 4xx) allows everything; one that
    cannot be read (5xx, no answer, refused address) allows nothing this time."""

    fetcher: PoliteFetcher
    _rules: dict[str, RobotFileParser | None] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def allowed(self, url: str) -> bool:
        origin = origin_url(url)
        if origin not in self._rules:
            self._rules[origin] = self._load(origin)
        rules = self._rules[origin]
        return rules is None or rules.can_fetch(USER_AGENT, url)

    def _load(self, origin: str) -> RobotFileParser | None:
        parser = RobotFileParser()
        try:
            fetched = self.fetcher.get(f"{origin}/robots.txt")
        except PageStatusError as exc:
            if 400 <= exc.status < 500:
                return None
            self.problems[origin] = f"robots.txt of {origin} answered HTTP {exc.status}."
            parser.parse(_DISALLOW_ALL)
            return parser
        except ExtractionError as exc:
            self.problems[origin] = f"robots.txt of {origin} could not be read: {exc}"
            parser.parse(_DISALLOW_ALL)
            return parser
        parser.parse(fetched.data.decode("utf-8", errors="replace").splitlines())
        delay = parser.crawl_delay(USER_AGENT)
        if delay:
            host = urlsplit(origin).netloc.lower()
            self.fetcher.host_delays[host] = min(
                float(delay), settings.SOURCES_MAX_CRAWL_DELAY_SECONDS
            )
        return parser
