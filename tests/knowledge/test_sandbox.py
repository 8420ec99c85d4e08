"""The extraction child process: limits, and recovery when the idle child has died."""

from __future__ import annotations

import os
import signal
import time

from apps.knowledge import sandbox
from apps.knowledge.extract import ExtractOptions


def _extract(text: bytes) -> sandbox.Extracted:
    return sandbox.extract_isolated(
        text,
        "text/plain",
        timeout=60,
        memory_mb=1024,
        options=ExtractOptions(max_expanded_bytes=10_000_000),
    )


def test_a_child_that_died_while_idle_is_replaced_for_the_next_file() -> None:
    assert "first" in _extract(b"The first file.").text
    pool = sandbox._pool
    assert pool is not None
    for process in list(pool._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
    time.sleep(0.5)  # the pool notices the death and marks itself broken
    assert "second" in _extract(b"The second file.").text
    assert sandbox._pool is not pool
