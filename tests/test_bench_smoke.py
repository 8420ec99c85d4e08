"""The retrieval benchmark still runs: at a tiny size, in its own database, end to end.

It broke silently once (a new column the COPY did not write); its figures are only
meaningful at 100k–1M passages (BENCHMARKS.md), so this checks that it works, not how fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_retrieval_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "retrieval.json"
    env = {**os.environ, "EMBEDDED_DB_NAME": "bench_smoke"}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "bench/retrieval.py", "--sizes", "2000", "--queries", "5"]
    command += ["--chroma-max", "0", "--sweep-at", "0", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    size = json.loads(out.read_text())["sizes"][0]
    assert size["n"] == 2000
    assert size["all_readable"]["hybrid"]["rows_returned_min"] == 40
    one_document = size["document_filters"]["1_documents"]
    assert one_document["passages"] == 100 and one_document["vector"]["recall_at_10"] == 1.0
