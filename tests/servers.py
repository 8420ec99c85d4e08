"""Real HTTP servers for tests: the app itself (local provider) and a fake Groq."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_app() -> Iterator[str]:
    """Serve the whole Django app over real HTTP on a free loopback port."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Reply:
    """One canned answer. ``stream`` sends SSE events (``cut`` drops the connection after
    them, without ``[DONE]``); ``raw`` sends bytes as they are; ``delay`` hangs first."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: list[Any] | None = None
    cut: bool = False
    raw: bytes | None = None
    delay: float = 0.0
    interval: float = 0.0  # pause between streamed events


@dataclass
class FakeGroq:
    """A loopback server replaying Groq-shaped replies, one per request, in order.

    ``replies`` maps a path (``/openai/v1/chat/completions``) to a list of replies; the
    last one repeats. Every request is recorded with its path, headers and JSON body.
    """

    replies: dict[str, list[Any]] = field(default_factory=dict)  # Reply, or request → Reply
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    disconnects: int = 0

    def reply(self, path: str, *replies: Any) -> None:
        self.replies["/openai/v1/" + path] = list(replies)

    def _next(self, path: str) -> Any:
        queue = self.replies.get(path)
        if not queue:
            return Reply(
                404,
                {
                    "error": {
                        "message": f"Unknown request URL: {path}",
                        "type": "invalid_request_error",
                        "code": "unknown_url",
                    }
                },
            )
        return queue.pop(0) if len(queue) > 1 else queue[0]


@contextmanager
def fake_groq() -> Iterator[FakeGroq]:
    fake = FakeGroq()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            is_json = "json" in self.headers.get("Content-Type", "application/json")
            fake.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw) if raw and is_json else None,
                    "body": raw,
                }
            )
            reply = fake._next(self.path)
            if callable(reply):  # a reply computed from the request (its multipart body)
                reply = reply(fake.requests[-1])
            if reply.delay:
                time.sleep(reply.delay)
            if reply.stream is not None:
                self._send_stream(reply)
                return
            payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _send_stream(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Connection", "close")
            self.end_headers()
            events = list(reply.stream or [])
            if not reply.cut:
                events.append("[DONE]")
            for event in events:
                data = event if isinstance(event, str) else json.dumps(event)
                try:
                    self.wfile.write(f"data: {data}\n\n".encode())
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    fake.disconnects += 1  # the client closed the stream (stop button)
                    break
                if reply.interval:
                    time.sleep(reply.interval)
            self.close_connection = True

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A reply told to hang must not hold up the test that is done with it.
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/openai/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


Factory = Callable[..., Any]
