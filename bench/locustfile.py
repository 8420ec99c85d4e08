"""Signed-in users searching as they type and asking questions; driven by bench/load.py.

Each simulated user holds one signed-in session (ids from ``LOAD_SESSIONS_FILE``, made by
Django's session backend), fetches the ask page once (CSRF token, stylesheet), then loops:
``GET /search/?q=…&partial=1`` (the results fragment the search page's script asks for) and
``POST /ask/stream`` (the whole SSE stream is read; it counts as failed unless it ends with
``event: done``), with ``LOAD_WAIT_MIN``–``LOAD_WAIT_MAX`` seconds of think time.

Users step up through ``LOAD_STEPS`` (e.g. "5,10,20"), ``LOAD_STEP_SECONDS`` each; every
request is written to ``LOAD_RECORDS`` (JSON lines: step, start time, name, ms, error) so that
each step is read on its own.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from locust import LoadTestShape, between, events, task
from locust.contrib.fasthttp import FastHttpUser

SESSIONS: list[str] = json.loads(Path(os.environ["LOAD_SESSIONS_FILE"]).read_text())
STEPS = [int(n) for n in os.environ.get("LOAD_STEPS", "5,10").split(",")]
STEP_SECONDS = float(os.environ.get("LOAD_STEP_SECONDS", "50"))
RECORDS_PATH = os.environ["LOAD_RECORDS"]
ASK_WEIGHT = int(os.environ.get("LOAD_ASK_WEIGHT", "1"))
SEARCH_WEIGHT = int(os.environ.get("LOAD_SEARCH_WEIGHT", "4"))

SEARCHES = [
    "laptop replaced",
    "core working hours",
    "parental leave",
    "paid holiday days",
    "learning budget",
    "lost device report",
    "hotel cap europe",
    "business class approval",
    "meals per diem",
    "expense report deadline",
    "corporate card",
    "severity 1 acknowledge",
    "incident channel name",
    "postmortem",
    "guest wifi password",
    "book a desk",
    "bike storage",
    "office opening hours",
    "file size limit",
    "encryption at rest",
    "supported platforms",
    "file versions kept",
    "enterprise support phone",
]
QUESTIONS = [
    "How often are laptops replaced?",
    "What is the nightly hotel cap in Europe?",
    "How quickly must a Severity 1 incident be acknowledged?",
    "Where do I find the guest Wi-Fi password?",
    "How large can a file be in Lumen Sync?",
    "How long is parental leave?",
    "When must expense reports be filed?",
    "Which platforms does the Lumen Sync desktop app run on?",
]
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
_session_ids = itertools.cycle(SESSIONS)
_records: list[dict[str, Any]] = []
_started = {"at": 0.0}


@events.test_start.add_listener
def _on_test_start(**kwargs: Any) -> None:
    _started["at"] = time.time()


@events.request.add_listener
def _on_request(
    name: str, response_time: float, exception: Any, start_time: float, **kw: Any
) -> None:
    offset = start_time - _started["at"]
    _records.append(
        {
            "step": min(int(offset // STEP_SECONDS), len(STEPS) - 1),
            "offset_s": round(offset, 3),
            "name": name,
            "ms": round(response_time, 2),
            "error": None if exception is None else str(exception)[:200],
        }
    )


@events.quitting.add_listener
def _on_quitting(**kwargs: Any) -> None:
    with Path(RECORDS_PATH).open("w") as out:
        for record in _records:
            out.write(json.dumps(record) + "\n")


class TeamMember(FastHttpUser):
    wait_time = between(
        float(os.environ.get("LOAD_WAIT_MIN", "1")), float(os.environ.get("LOAD_WAIT_MAX", "2"))
    )

    def on_start(self) -> None:
        self.session_id = next(_session_ids)
        self.searches = itertools.cycle(SEARCHES[len(SESSIONS) % len(SEARCHES) :] + SEARCHES)
        self.questions = itertools.cycle(QUESTIONS)
        self.client.cookiejar.clear()
        page = self.client.get("/", headers=self._cookies(), name="/ (ask page)")
        self.csrf_cookie = _cookie(page.headers.get("Set-Cookie", ""), "csrftoken")
        match = _TOKEN.search(page.text or "")
        self.token = match.group(1) if match else ""
        stylesheet = _STYLESHEET.search(page.text or "")
        if stylesheet:
            self.client.get(stylesheet.group(1), name="/static/ (stylesheet)")

    def _cookies(self) -> dict[str, str]:
        cookie = f"sessionid={self.session_id}"
        if getattr(self, "csrf_cookie", ""):
            cookie += f"; csrftoken={self.csrf_cookie}"
        return {"Cookie": cookie}

    @task(SEARCH_WEIGHT)
    def search(self) -> None:
        query = next(self.searches)
        with self.client.get(
            "/search/",
            params={"q": query, "partial": "1"},
            headers=self._cookies(),
            name="/search/?partial=1",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "result-title" not in (response.text or ""):
                response.failure(f"status {response.status_code}, no hits")

    @task(ASK_WEIGHT)
    def ask(self) -> None:
        question = next(self.questions)
        with self.client.post(
            "/ask/stream",
            data={"question": question, "csrfmiddlewaretoken": self.token},
            headers={**self._cookies(), "X-CSRFToken": self.token},
            name="/ask/stream (whole stream)",
            catch_response=True,
        ) as response:
            body = response.text or ""
            if response.status_code != 200 or "event: done" not in body:
                response.failure(f"status {response.status_code}: {body[-200:]!r}")


def _cookie(header: str, name: str) -> str:
    match = re.search(rf"{name}=([^;,\s]+)", header)
    return match.group(1) if match else ""


class Steps(LoadTestShape):
    """``LOAD_STEPS`` users, ``LOAD_STEP_SECONDS`` each, then stop."""

    def tick(self) -> tuple[int, float] | None:
        step = int(self.get_run_time() // STEP_SECONDS)
        if step >= len(STEPS):
            return None
        return STEPS[step], 100.0
