"""A fast, standalone Groq-shaped model server for load tests: the app is measured, not the model.

    .venv/bin/python bench/fake_model_server.py --port 8790

Serves under ``/openai/v1``:
- ``POST /embeddings``: 384-d unit vectors, deterministic from a hash of each text
  (``encoding_format: base64`` honoured, as Groq does);
- ``POST /reranking``: Groq's ``{doc, score}`` results, scored by word overlap with the query;
- ``POST /chat/completions``: a short answer quoting the first document and citing it with a
  ``document_citation`` annotation, streamed (SSE, ``x_groq`` first, usage last, ``[DONE]``)
  or not; no delay anywhere;
- ``GET /models``.

Standard library + numpy only, so it can run beside the app without Django.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

DIMENSIONS = 384
PREFIX = "/openai/v1/"
_WORD = re.compile(r"\w+")


def fake_vector(text: str) -> np.ndarray[Any, Any]:
    """A unit vector that depends only on ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype("<f4")
    return vector / np.linalg.norm(vector)


def embeddings_reply(body: dict[str, Any]) -> dict[str, Any]:
    texts = body.get("input") or []
    texts = [texts] if isinstance(texts, str) else texts
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = fake_vector(str(text))
        encoded: Any = (
            base64.b64encode(vector.tobytes()).decode("ascii") if as_base64 else vector.tolist()
        )
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(len(str(t)) // 4 + 1 for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", ""),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def overlap_score(query: str, doc: str) -> float:
    words = set(_WORD.findall(query.lower()))
    if not words:
        return 0.0
    return len(words & set(_WORD.findall(doc.lower()))) / len(words)


def reranking_reply(body: dict[str, Any]) -> dict[str, Any]:
    docs = [str(d) for d in body.get("docs") or []]
    scored = sorted(
        ((doc, overlap_score(str(body.get("query", "")), doc)) for doc in docs),
        key=lambda pair: pair[1],
        reverse=True,
    )
    return {"results": [{"doc": doc, "score": score} for doc, score in scored]}


def answer_text(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The first sentence of the first document, cited; a fixed line without documents."""
    documents = body.get("documents") or []
    if not documents:
        return "The question, as a standalone search query.", []
    first = documents[0]
    text = str((first.get("source") or {}).get("text", "")).strip()
    sentence = (text.split(". ")[0][:300] or "See the first source").rstrip(".")
    content = f"According to the sources: {sentence}."
    annotation = {
        "type": "document_citation",
        "document_citation": {
            "document_id": str(first.get("id", "1")),
            "start_index": 0,
            "end_index": len(content),
        },
    }
    return content, [annotation]


def completion_reply(body: dict[str, Any], request_id: str) -> dict[str, Any]:
    content, annotations = answer_text(body)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if annotations:
        message["annotations"] = annotations
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        "x_groq": {"id": request_id},
    }


def completion_stream(body: dict[str, Any], request_id: str) -> list[dict[str, Any] | str]:
    """Groq's chunks: role + ``x_groq`` first, a few words per chunk, the citation on the
    chunk that completes its span, ``finish_reason`` with usage, then ``[DONE]``."""
    content, annotations = answer_text(body)
    base = {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", ""),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}

    words = re.findall(r"\S+\s*", content)
    events: list[dict[str, Any] | str] = [
        chunk({"role": "assistant", "content": ""}, x_groq={"id": request_id})
    ]
    for start in range(0, len(words), 3):
        delta: dict[str, Any] = {"content": "".join(words[start : start + 3])}
        if start + 3 >= len(words) and annotations:
            delta["annotations"] = annotations
        events.append(chunk(delta))
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    events.append(chunk({}, "stop", x_groq={"id": request_id, "usage": usage}))
    events.append("[DONE]")
    return events


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for the JSON replies

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed = json.loads(raw) if raw else {}
        return parsed if isinstance(parsed, dict) else {}

    def _json(self, status: int, payload: dict[str, Any], request_id: str) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", request_id)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: list[dict[str, Any] | str], request_id: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("x-request-id", request_id)
        self.send_header("Connection", "close")
        self.end_headers()
        for event in events:
            data = event if isinstance(event, str) else json.dumps(event)
            self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self) -> None:
        request_id = f"req_{uuid.uuid4().hex}"
        if self.path == PREFIX + "models":
            models = [{"id": "fake", "object": "model", "created": 0, "owned_by": "bench"}]
            self._json(200, {"object": "list", "data": models}, request_id)
        else:
            self._json(404, {"error": {"message": "not found", "type": "x"}}, request_id)

    def do_POST(self) -> None:
        request_id = f"req_{uuid.uuid4().hex}"
        body = self._body()
        path = self.path.removeprefix(PREFIX)
        if path == "embeddings":
            self._json(200, embeddings_reply(body), request_id)
        elif path == "reranking":
            self._json(200, reranking_reply(body), request_id)
        elif path == "chat/completions" and body.get("stream"):
            self._stream(completion_stream(body, request_id), request_id)
        elif path == "chat/completions":
            self._json(200, completion_reply(body, request_id), request_id)
        else:
            self._json(404, {"error": {"message": "not found", "type": "x"}}, request_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"fake model server on http://127.0.0.1:{args.port}{PREFIX}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
