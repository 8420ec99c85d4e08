"""A loopback web site for the crawl tests: pages, robots.txt, sitemaps, redirects, slow and
vanished pages, with ETag / Last-Modified answered as a real server would (304)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str = ""
    last_modified: str = ""
    location: str = ""
    delay: float = 0.0


@dataclass
class Site:
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    base: str = ""
    port: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def asked(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def html(self, path: str, title: str, body: str, **extra: Any) -> None:
        """A page with the menus and footer a real site has around its content."""
        markup = (
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            "<header><nav><a href='/docs/'>Home</a> <a href='/docs/a'>Guide A</a> "
            "<a href='/docs/b'>Guide B</a></nav></header>"
            f"<main><article><h1>{title}</h1>{body}</article></main>"
            "<footer><p>Copyright Example Corp. All rights reserved. Privacy. Imprint.</p>"
            "</footer></body></html>"
        )
        self.pages[path] = Page(markup.encode(), **extra)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with site.lock:
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
                site.requests.append({"path": self.path, "headers": dict(self.headers)})
            try:
                self._answer(site.pages.get(self.path) or Page(b"not found", status=404))
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                with site.lock:
                    site.in_flight -= 1

        def _answer(self, page: Page) -> None:
            if page.delay:
                time.sleep(page.delay)
            if self._not_modified(page):
                self.send_response(304)
                if page.etag:
                    self.send_header("ETag", page.etag)
                self.end_headers()
                return
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            for name, value in (
                ("ETag", page.etag),
                ("Last-Modified", page.last_modified),
                ("Location", page.location),
            ):
                if value:
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(page.body)

        def _not_modified(self, page: Page) -> bool:
            if page.status != 200:
                return False
            if page.etag and self.headers.get("If-None-Match") == page.etag:
                return True
            since = self.headers.get("If-Modified-Since")
            return bool(page.last_modified and since == page.last_modified and not page.etag)

    return Handler


@contextmanager
def serve_site() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    server.block_on_close = False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.port = server.server_address[1]
    site.base = f"http://127.0.0.1:{site.port}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
