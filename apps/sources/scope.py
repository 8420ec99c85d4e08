"""Which URLs belong to a source: normal forms, the scope rule, and the links of a page."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SITEMAP_HEAD = re.compile(rb"<(?:\w+:)?(?:urlset|sitemapindex)[\s>]")


def normalise_url(url: str) -> str | None:
    """One spelling per page: no fragment, lower-case scheme and host, no default port, a
    path of at least "/". None for anything that is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def default_scope(url: str) -> str:
    """Same host, and the path up to the last "/" of the start URL (or of the sitemap)."""
    normal = normalise_url(url) or url
    parts = urlsplit(normal)
    prefix = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))


def in_scope(url: str, scope: str) -> bool:
    """Same host and port, path under the scope's path. http and https count as one site
    (sites redirect one to the other)."""
    page, prefix = urlsplit(url), urlsplit(scope)
    if _origin(page) != _origin(prefix):
        return False
    return (page.path or "/").startswith(prefix.path or "/")


def _origin(parts: SplitResult) -> tuple[str, int]:
    scheme = parts.scheme.lower()
    hostname = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = -1
    if port == _DEFAULT_PORTS.get(scheme):
        port = 0  # http://host and https://host are the same site
    return hostname, port


def origin_url(url: str) -> str:
    """``scheme://host[:port]`` of a URL, where its robots.txt lives."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def looks_like_sitemap(data: bytes) -> bool:
    """An XML sitemap or sitemap index (decided from the content, not the name)."""
    return bool(_SITEMAP_HEAD.search(data[:4096]))


def page_links(html: bytes, base_url: str) -> list[str]:
    """The page's ``<a href>`` targets, resolved and normalised, in page order, once each;
    ``rel=nofollow`` links are not followed."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html.decode("utf-8", errors="replace"))
    base_node = tree.css_first("base[href]")
    base = urljoin(base_url, base_node.attributes.get("href") or "") if base_node else base_url
    links: dict[str, None] = {}
    for node in tree.css("a[href]"):
        if "nofollow" in (node.attributes.get("rel") or "").lower():
            continue
        normal = normalise_url(urljoin(base, node.attributes.get("href") or ""))
        if normal is not None:
            links[normal] = None
    return list(links)
