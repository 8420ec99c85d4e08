"""A real ingestion worker process: its heartbeat makes /readyz ready, its embedding calls
carry the document's request id, and its metrics join the scrape (multiprocess mode)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from apps.knowledge.models import Document
from apps.knowledge.uploads import add_upload
from qa_site.gunicorn_conf import child_exit
from tests.operations.conftest import sample, scrape

ROOT = Path(__file__).resolve().parents[2]
TEXT = "\n\n".join(f"Paragraph {i} says how the night shift hands over." for i in range(8))


def _wait_for(predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_is_seen_by_readyz_and_its_calls_carry_the_document_request_id(
    client, knowledge_base, start_worker, json_logs, metrics_on, settings, tmp_path
) -> None:
    assert client.get(reverse("operations:readyz")).json()["failing"] == ["worker"]
    [outcome] = add_upload(knowledge_base=knowledge_base, filename="shift.md", data=TEXT.encode())
    document = outcome.document
    start_worker(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    def indexed() -> bool:
        document.refresh_from_db()
        return document.status == Document.Status.READY

    _wait_for(indexed)
    assert client.get(reverse("operations:readyz")).json() == {"status": "ready"}
    ids = {line["request_id"] for line in json_logs.requests_to("/local/v1/embeddings")}
    assert ids and all(re.fullmatch(rf"doc-{document.pk}-[0-9a-f]{{8}}", i) for i in ids), ids
    # The worker's embedding time, read from its files as gunicorn's workers would read it.
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    assert sample(scrape(client), "qa_stage_duration_seconds_count", stage="embed") >= 1


def _count_in_a_new_process(directory: Path) -> None:
    code = (
        "from apps.modelapi import observe\n"
        "observe.count_question()\n"
        "observe.count_model_error('embeddings', '503')\n"
    )
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_a_scrape_adds_up_what_every_process_counted(
    client, metrics_on, settings, tmp_path
) -> None:
    _count_in_a_new_process(tmp_path)
    _count_in_a_new_process(tmp_path)
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    samples = scrape(client)
    assert sample(samples, "qa_questions_asked_total") == 2
    assert sample(samples, "qa_model_api_errors_total", endpoint="embeddings", status="503") == 2
    # The database gauges are there in multiprocess mode too.
    assert ("qa_documents_failed", ()) in samples


def test_gunicorn_child_exit_drops_the_dead_worker_live_gauges(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    dead = tmp_path / "gauge_livesum_4242.db"
    alive = tmp_path / "gauge_livesum_4343.db"
    counter = tmp_path / "counter_4242.db"
    for path in (dead, alive, counter):
        path.write_bytes(b"")
    child_exit(None, SimpleNamespace(pid=4242))
    assert not dead.exists() and alive.exists() and counter.exists()


@pytest.fixture
def gunicorn_with_metrics(tmp_path, closed_port_url) -> Iterator[tuple[str, int]]:
    """The app under real gunicorn, two workers, multiprocess metrics in ``tmp_path``:
    its URL and the master's pid."""
    port = closed_port_url.split(":")[-1].split("/")[0]
    env = {
        **os.environ,
        "EMBEDDED_DB_NAME": connection.settings_dict["NAME"],
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "METRICS_ENABLED": "1",
        "SITE_URL": f"http://127.0.0.1:{port}",
    }
    command = [str(Path(sys.executable).parent / "gunicorn"), "qa_site.wsgi:application"]
    command += ["-c", "qa_site/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--worker-class", "gthread", "--threads", "2"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _status(f"{url}/healthz") == 200, timeout=60)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _status(url: str) -> int:
    request = urllib.request.Request(url, headers={"Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _readyz_count(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    [line] = [
        line
        for line in text.splitlines()
        if line.startswith("qa_http_request_duration_seconds_count")
        and 'view="operations:readyz"' in line
    ]
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.django_db
def test_under_gunicorn_a_scrape_still_counts_the_requests_of_workers_that_died(
    gunicorn_with_metrics,
) -> None:
    url, master = gunicorn_with_metrics
    for _ in range(10):
        assert _status(f"{url}/readyz") == 503  # no ingestion worker: "not ready"
    first = _children(master)
    assert len(first) == 2
    for pid in first:
        os.kill(pid, signal.SIGKILL)  # both workers: gunicorn starts two new ones
    _wait_for(lambda: len(_children(master) - first) == 2 and _status(f"{url}/healthz") == 200)
    for _ in range(10):
        assert _status(f"{url}/readyz") == 503
    # Served by the new workers alone; only the files of the dead ones hold the first ten.
    assert _readyz_count(url) == 20
