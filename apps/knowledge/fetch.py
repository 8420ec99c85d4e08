"""Fetching web pages for URL ingestion, refusing anything but the public internet.

Every hop (the first request and each redirect) is checked before connecting: the
scheme must be http(s), and every address the host name resolves to must be public
(no loopback, private, link-local, metadata, multicast, reserved or IPv6-mapped
private addresses; decimal and octal IPv4 forms resolve like any other name and are
checked the same way). The connection then goes to the checked address itself, so
a second DNS answer cannot swap in a private one.

A re-sync asks conditionally (``etag`` / ``last_modified`` of the copy it has): a 304
comes back as a ``Fetched`` with ``not_modified`` and no body.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from apps.knowledge.errors import ExtractionError

USER_AGENT = "qa-site-fetcher/0.1 (+knowledge base ingestion)"


class FetchRefused(ExtractionError):
    """The URL points somewhere we never connect to."""


class PageStatusError(ExtractionError):
    """The server answered with an error status (404, 410, 503…): ``status`` says which."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class RedirectNotFollowed(ExtractionError):
    """A redirect to where the caller does not go (a crawl's scope): ``location`` says where."""

    def __init__(self, message: str, *, location: str) -> None:
        super().__init__(message)
        self.location = location


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    data: bytes
    status: int = 200
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        """The copy we asked about (``If-None-Match`` / ``If-Modified-Since``) is current."""
        return self.status == 304


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_target(url: str) -> _Target:
    """Scheme and host checks that need no DNS."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"Not a valid URL: {url!r}.") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(
            f"Only http and https URLs can be added (got {parts.scheme or 'none'!r})."
        )
    if not parts.hostname:
        raise FetchRefused("The URL has no host name.")
    if parts.username or parts.password:
        raise FetchRefused("URLs with a user name or password are not fetched.")
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return _Target(
        parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
    )


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_public_address(str(embedded))
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def resolve_public(target: _Target, *, allowed_private: frozenset[str]) -> list[str]:
    """The addresses to try, in resolver order; refuses if any of them is not public."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ExtractionError(f"The host {target.host!r} could not be resolved.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ExtractionError(f"The host {target.host!r} has no address.")
    if f"{target.host}:{target.port}" in allowed_private:
        return addresses
    for address in addresses:
        if not is_public_address(address):
            raise FetchRefused(
                f"Refused: {target.host} resolves to a private or reserved address ({address})."
            )
    return addresses


def _pinned_url(target: _Target, address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{target.scheme}://{host}:{target.port}{target.path}"


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    max_redirects: int,
    allowed_private: frozenset[str] = frozenset(),
    etag: str = "",
    last_modified: str = "",
    follow: Callable[[str], bool] | None = None,
) -> Fetched:
    """GET ``url`` within a size cap and a total time budget, checking every hop; with
    ``etag`` / ``last_modified`` of a stored copy, a 304 answer is returned as ``not_modified``;
    a redirect to a URL that ``follow`` refuses is not taken (``RedirectNotFollowed``)."""
    deadline = time.monotonic() + timeout
    current = url
    conditional = _conditional_headers(etag=etag, last_modified=last_modified)
    with httpx.Client(
        follow_redirects=False, trust_env=False, timeout=httpx.Timeout(min(timeout, 10.0))
    ) as client:
        for _ in range(max_redirects + 1):
            target = parse_target(current)
            addresses = resolve_public(target, allowed_private=allowed_private)
            response = _connect_first(client, target, addresses, url=current, extra=conditional)
            try:
                if response.is_redirect and response.headers.get("location"):
                    current = urljoin(current, response.headers["location"])
                    if follow is not None and not follow(current):
                        raise RedirectNotFollowed(
                            f"{url} redirects to {current}, which is not followed.",
                            location=current,
                        )
                    continue
                if response.status_code >= 400:
                    raise PageStatusError(
                        f"The page at {current} answered HTTP {response.status_code}.",
                        status=response.status_code,
                    )
                data = b""
                if response.status_code != 304:
                    data = _read_body_capped(
                        response, max_bytes=max_bytes, deadline=deadline, url=current
                    )
                return _fetched(current, response, data)
            finally:
                response.close()
    raise ExtractionError(f"More than {max_redirects} redirects from {url}.")


def _conditional_headers(*, etag: str, last_modified: str) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _fetched(url: str, response: httpx.Response, data: bytes) -> Fetched:
    return Fetched(
        url,
        response.headers.get("content-type", ""),
        data,
        status=response.status_code,
        etag=response.headers.get("etag", ""),
        last_modified=response.headers.get("last-modified", ""),
    )


def _connect_first(
    client: httpx.Client,
    target: _Target,
    addresses: list[str],
    *,
    url: str,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """Open the request on the first checked address that answers (IPv6 or IPv4)."""
    default_port = target.port == (443 if target.scheme == "https" else 80)
    headers = {
        "Host": target.host if default_port else f"{target.host}:{target.port}",
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
        **(extra or {}),
    }
    failure: Exception | None = None
    for address in addresses:
        request = client.build_request(
            "GET",
            _pinned_url(target, address),
            headers=headers,
            extensions={"sni_hostname": target.host},
        )
        try:
            return client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            failure = exc
        except httpx.TransportError as exc:
            failure = exc
    if isinstance(failure, httpx.TimeoutException):
        raise ExtractionError(f"The page at {url} did not answer in time.") from failure
    raise ExtractionError(f"The page at {url} could not be fetched: {failure}") from failure


def _read_body_capped(
    response: httpx.Response, *, max_bytes: int, deadline: float, url: str
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ExtractionError(f"The page at {url} is larger than {max_bytes:,} bytes.")
            if time.monotonic() > deadline:
                raise ExtractionError(f"The page at {url} took too long to download.")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise ExtractionError(f"The page at {url} stopped sending.") from exc
    except httpx.TransportError as exc:
        raise ExtractionError(f"The download of {url} broke off: {exc}") from exc
    return b"".join(chunks)
