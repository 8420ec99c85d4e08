"""``make serve``, the production start, run as the README says, on a database of its own.

gunicorn (DEBUG=0, whitenoise, JSON logs) and the ingestion worker beside it: probes answer
over plain HTTP, pages only over HTTPS (here through a TLS proxy's header), static files come
from the collected copy, errors show no debug page, the worker's heartbeat makes /readyz
ready, and one SIGTERM stops everything. Without a secret key it refuses to start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SERVE_DB = f"{os.environ.get('TEST_DATABASE_NAME', 'test_qa_site')}_serve"
HTTPS = {"X-Forwarded-Proto": "https"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TEST_DATABASE_NAME", "DATABASE_URL", "DJANGO_SECRET_KEY", "LOG_FORMAT"}
        and not k.startswith(("MAKE", "MFLAGS"))
    }
    return {
        **keep,
        "EMBEDDED_DB_NAME": SERVE_DB,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "QA_ADDR": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "DJANGO_BEHIND_TLS_PROXY": "1",
        "METRICS_ENABLED": "1",
        "READYZ_WORKER_MAX_AGE_SECONDS": "60",
        **extra,
    }


def _drop_database() -> None:
    with psycopg.connect(
        host=connection.settings_dict["HOST"], user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SERVE_DB}" WITH (FORCE)')


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """``make serve`` on a free port; yields its URL, the process and its log file."""
    port = _free_port()
    log = tmp_path / "serve.log"
    env = _environment(tmp_path, port, DJANGO_SECRET_KEY="s" * 60)
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _answers(f"{url}/healthz"), process, log)
        yield url, process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        _drop_database()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(
    condition: object, process: subprocess.Popen[bytes], log: Path, timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make serve exited {process.returncode}:\n{log.read_text()}")
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"make serve did not get there in time:\n{log.read_text()[-3000:]}")


@pytest.mark.django_db
def test_make_serve_runs_gunicorn_without_debug_with_whitenoise_json_logs_and_a_worker(
    served: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    url, process, log = served
    health = httpx.get(f"{url}/healthz")
    assert health.status_code == 200 and health.headers["server"].startswith("gunicorn")

    # DEBUG=0: plain HTTP pages go to HTTPS; through the TLS proxy's header they are served.
    assert httpx.get(f"{url}/login/").status_code == 301
    login = httpx.get(f"{url}/login/", headers=HTTPS)
    assert login.status_code == 200 and "Strict-Transport-Security" in login.headers
    missing = httpx.get(f"{url}/no-such-page/", headers=HTTPS)
    assert missing.status_code == 404 and "URLconf" not in missing.text  # no debug page
    css = httpx.get(f"{url}/static/css/app.css", headers=HTTPS)
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]

    # The worker beside gunicorn beats, so the instance becomes ready.
    _wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, process, log)
    # Metrics from gunicorn's processes, added up from PROMETHEUS_MULTIPROC_DIR.
    metrics = httpx.get(f"{url}/metrics")
    assert metrics.status_code == 200
    assert "qa_http_request_duration_seconds_count" in metrics.text
    assert "qa_ingestion_queue_depth" in metrics.text

    # JSON logs: every request line parses and carries a request id.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("path") == "/login/"]
    assert requests and all(line["request_id"] for line in requests)

    children = psutil.Process(process.pid).children(recursive=True)
    assert any("gunicorn" in " ".join(c.cmdline()) for c in children)
    assert any("ingest_worker" in " ".join(c.cmdline()) for c in children)

    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=60)
    # make itself exits at once on the signal; the script it ran is still stopping gunicorn
    # (graceful) and the worker. Every child must be gone within the script's own wait.
    _, alive = psutil.wait_procs(children, timeout=60)
    assert not [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    for _ in range(100):  # the script says so right after its wait
        if "Stopped web and worker." in log.read_text():
            break
        time.sleep(0.1)
    assert "Stopped web and worker." in log.read_text()


def test_make_serve_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=_environment(tmp_path, _free_port()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "needs DJANGO_SECRET_KEY" in done.stderr
    assert not (tmp_path / "prometheus").exists()  # it stopped before touching anything
