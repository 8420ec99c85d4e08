"""The app under load: gunicorn (DEBUG=0, whitenoise), signed-in users driven by locust.

    .venv/bin/python bench/load.py [--steps 5,10,20,40,80,160,240,320] [--step-seconds 50]
                                   [--local-steps 2,5,10] [--workers 2] [--threads 4] [--no-wait]

1. Migrates the bench database (``bench_load``), collects static files, indexes the demo
   knowledge base through the local provider (a separate gunicorn process) and makes one
   signed-in session per simulated user.
2. fake: the app (gunicorn, gthread) with every model call sent to bench/fake_model_server.py,
   which answers at once, so that the app is measured, not the model. Users step up through
   --steps, --step-seconds each (bench/locustfile.py: search-as-you-type and streamed asks).
   The highest step held is the last with search p95 < 300 ms and under 1% errors.
3. local: the same with the local provider (real embeddings, rerank and extractive chat, in
   its own gunicorn process) at --local-steps.

CPU of each process group is sampled every second. The load generator, the servers and the
database share this machine's cores. Prints tables; writes bench/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.serving import (
    LOG_DIR,
    RESULTS,
    ROOT,
    Server,
    configure_environment,
    index_demo_world,
    load_average,
    model_env,
    prepare_database,
    signed_in_sessions,
    start_fake_model_server,
    start_gunicorn,
    stop,
    wait_for_quiet,
)

configure_environment()

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import psutil  # noqa: E402

LOCUST = str(ROOT / ".venv" / "bin" / "locust")
SEARCH = "/search/?partial=1"
ASK = "/ask/stream (whole stream)"
SEARCH_P95_TARGET_MS = 300.0
ERROR_RATE_TARGET = 0.01
WARMUP_SECONDS = 5.0  # of each step, left out: users starting, fetching the ask page


class CpuSampler(threading.Thread):
    """CPU use (in cores) of named process trees, and of the whole machine, every second."""

    def __init__(self, groups: dict[str, psutil.Process]) -> None:
        super().__init__(daemon=True)
        self.groups = groups
        self.samples: list[dict[str, float]] = []
        self._halt = threading.Event()

    def _tree_seconds(self, root: psutil.Process) -> float:
        """CPU seconds of ``root`` and its live children, plus its reaped children (the
        postmaster's short-lived backends: one per request, as CONN_MAX_AGE is 0)."""
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
                if process is root:
                    total += times.children_user + times.children_system
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        psutil.cpu_percent(interval=None)
        previous = {name: self._tree_seconds(p) for name, p in self.groups.items()}
        last = time.time()
        while not self._halt.wait(1.0):
            now = time.time()
            current = {name: self._tree_seconds(p) for name, p in self.groups.items()}
            sample = {
                "t": now,
                "machine": psutil.cpu_percent(interval=None) / 100 * psutil.cpu_count(),
            }
            for name in self.groups:
                sample[name] = max(0.0, current[name] - previous[name]) / (now - last)
            self.samples.append(sample)
            previous, last = current, now

    def stop(self) -> None:
        self._halt.set()
        self.join()


def postmaster() -> psutil.Process:
    """The embedded PostgreSQL server (shared with other databases on this machine)."""
    return psutil.Process(int((ROOT / "var" / "pgdata" / "postmaster.pid").read_text().split()[0]))


def run_locust(
    label: str, host: str, steps: list[int], step_seconds: float, groups: dict[str, psutil.Process]
) -> tuple[list[dict[str, Any]], list[dict[str, float]], float, list[str]]:
    """One stepped locust run; returns its request records, CPU samples, start time, command."""
    records = LOG_DIR / f"{label}-records.jsonl"
    command = [
        LOCUST,
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        host,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "LOAD_SESSIONS_FILE": str(LOG_DIR / "sessions.json"),
        "LOAD_STEPS": ",".join(map(str, steps)),
        "LOAD_STEP_SECONDS": str(step_seconds),
        "LOAD_RECORDS": str(records),
    }
    started = time.time()
    with (LOG_DIR / f"{label}-locust.log").open("wb") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = CpuSampler({**groups, "locust": psutil.Process(locust.pid)})
        sampler.start()
        locust.wait(timeout=len(steps) * step_seconds + 120)
        sampler.stop()
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    return rows, sampler.samples, started, command


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def summarise_step(
    step: int, users: int, rows: list[dict[str, Any]], cpu: list[dict[str, float]], seconds: float
) -> dict[str, Any]:
    measured = [
        r for r in rows if r["step"] == step and r["offset_s"] - step * seconds >= WARMUP_SECONDS
    ]
    window = seconds - WARMUP_SECONDS
    by_name: dict[str, Any] = {}
    for name in sorted({r["name"] for r in measured}):
        ok = [r["ms"] for r in measured if r["name"] == name and not r["error"]]
        failed = [r for r in measured if r["name"] == name and r["error"]]
        by_name[name] = {
            "requests": len(ok) + len(failed),
            "rps": round((len(ok) + len(failed)) / window, 2),
            "errors": len(failed),
            "p50_ms": percentile(ok, 50),
            "p95_ms": percentile(ok, 95),
            "p99_ms": percentile(ok, 99),
            "max_ms": round(max(ok), 1) if ok else None,
            "first_errors": sorted({str(r["error"]) for r in failed})[:3],
        }
    total = len(measured)
    errors = sum(1 for r in measured if r["error"])
    cores = {
        name: round(float(np.mean([s[name] for s in cpu])), 2) if cpu else None
        for name in (cpu[0].keys() if cpu else [])
        if name != "t"
    }
    search = by_name.get(SEARCH, {})
    held = (
        search.get("p95_ms") is not None
        and search["p95_ms"] < SEARCH_P95_TARGET_MS
        and total > 0
        and errors / total < ERROR_RATE_TARGET
    )
    return {
        "users": users,
        "requests": total,
        "rps": round(total / window, 2),
        "error_rate": round(errors / total, 4) if total else None,
        "held": held,
        "endpoints": by_name,
        "cpu_cores_used": cores,
    }


def run_scenario(
    label: str,
    app: Server,
    steps: list[int],
    seconds: float,
    groups: dict[str, psutil.Process],
    wait: int,
) -> dict[str, Any]:
    conditions: dict[str, Any] = {"quiet": wait_for_quiet(max_wait=wait) if wait else None}
    conditions["loadavg_before"] = load_average()
    rows, samples, started, command = run_locust(label, app.url, steps, seconds, groups)
    conditions["loadavg_after"] = load_average()
    summary = []
    for step, users in enumerate(steps):
        in_step = [
            s
            for s in samples
            if step * seconds + WARMUP_SECONDS <= s["t"] - started < (step + 1) * seconds
        ]
        summary.append(summarise_step(step, users, rows, in_step, seconds))
    held = [s["users"] for s in summary if s["held"]]
    return {
        "app_command": " ".join(app.command),
        "locust_command": " ".join(command),
        "steps": summary,
        "highest_users_held": max(held) if held else None,
        "conditions": conditions,
    }


def warm_up(app: Server, sessions: list[str]) -> None:
    """A few requests so that every worker has loaded the app before the clock starts."""
    import httpx

    with httpx.Client(timeout=120, cookies={"sessionid": sessions[0]}) as client:
        for _ in range(8):
            client.get(
                f"{app.url}/search/", params={"q": "laptop", "partial": "1"}
            ).raise_for_status()


def print_scenario(title: str, scenario: dict[str, Any]) -> None:
    print(f"\n{title}  (highest users held: {scenario['highest_users_held']})")
    header = f"{'users':>6}{'req/s':>8}{'err%':>7}{'search p50':>12}{'p95':>8}{'ask p50':>10}{'p95':>8}  cpu cores used"
    print(header)
    for step in scenario["steps"]:
        search = step["endpoints"].get(SEARCH, {})
        ask = step["endpoints"].get(ASK, {})
        cpu = ", ".join(f"{k} {v}" for k, v in step["cpu_cores_used"].items())
        error_rate = (step["error_rate"] or 0) * 100
        print(
            f"{step['users']:>6}{step['rps']:>8}{error_rate:>7.1f}{search.get('p50_ms')!s:>12}"
            f"{search.get('p95_ms')!s:>8}{ask.get('p50_ms')!s:>10}{ask.get('p95_ms')!s:>8}  {cpu}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="5,10,20,40,80,160,240,320")
    parser.add_argument("--step-seconds", type=float, default=50)
    parser.add_argument("--local-steps", default="2,5,10", help="empty: skip the local run")
    parser.add_argument("--local-step-seconds", type=float, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", default="load.json", help="file name under bench/results/")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine")
    parser.add_argument("--max-wait", type=int, default=600, help="seconds to wait for quiet")
    parser.add_argument(
        "--keepalive", type=int, default=0, help="gunicorn --keep-alive for the app (0: off)"
    )
    args = parser.parse_args()
    steps = [int(n) for n in args.steps.split(",") if n]
    local_steps = [int(n) for n in args.local_steps.split(",") if n]

    prepare_database()
    provider = start_gunicorn("load-provider", workers=1, threads=4, env={})
    fake = start_fake_model_server()
    result: dict[str, Any] = {
        "benchmark": "load",
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "cpu_count": os.cpu_count(),
        "parameters": {
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": "gthread",
            "step_seconds": args.step_seconds,
            "warmup_seconds_left_out_per_step": WARMUP_SECONDS,
            "think_time_s": [1, 2],
            "task_weights": {"search": 4, "ask": 1},
            "search_p95_target_ms": SEARCH_P95_TARGET_MS,
            "error_rate_target": ERROR_RATE_TARGET,
            "DEBUG": False,
            "static": "whitenoise (collectstatic into var/static)",
            "gunicorn_keepalive_s": args.keepalive,
        },
        "provider_command": " ".join(provider.command),
        "fake_model_server_command": " ".join(fake.command),
    }
    try:
        provider_url = f"{provider.url}/local/v1"
        documents, chunks = index_demo_world(provider_url)
        result["knowledge_base"] = {"documents": documents, "chunks": chunks}
        sessions = signed_in_sessions(max([*steps, *local_steps]))
        (LOG_DIR / "sessions.json").write_text(json.dumps(sessions))
        groups = {
            "fake_model_server": psutil.Process(fake.process.pid),
            "postgres_all_databases": postmaster(),
        }
        app = start_gunicorn(
            "load-app-fake",
            workers=args.workers,
            threads=args.threads,
            env=model_env(fake.url, local=False),
            keepalive=args.keepalive,
        )
        try:
            warm_up(app, sessions)
            app_groups = {"app": psutil.Process(app.process.pid), **groups}
            result["fake"] = run_scenario(
                "fake",
                app,
                steps,
                args.step_seconds,
                app_groups,
                0 if args.no_wait else args.max_wait,
            )
        finally:
            stop(app)
        print_scenario("fake model server", result["fake"])
        if local_steps:
            app = start_gunicorn(
                "load-app-local",
                workers=args.workers,
                threads=args.threads,
                env=model_env(provider_url, local=True),
                keepalive=args.keepalive,
            )
            try:
                warm_up(app, sessions)
                local_groups = {
                    "app": psutil.Process(app.process.pid),
                    "postgres_all_databases": postmaster(),
                    "provider": psutil.Process(provider.process.pid),
                }
                result["local"] = run_scenario(
                    "local",
                    app,
                    local_steps,
                    args.local_step_seconds,
                    local_groups,
                    0 if args.no_wait else args.max_wait,
                )
            finally:
                stop(app)
            print_scenario("local provider", result["local"])
    finally:
        stop(fake)
        stop(provider)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS / args.output}")


if __name__ == "__main__":
    main()
