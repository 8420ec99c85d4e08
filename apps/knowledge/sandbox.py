"""Run extraction in a separate process with a time and a memory limit.

A hostile or broken file (a decompression bomb, a PDF that makes the parser loop)
then costs one child process, never the worker: the child is replaced and the
document fails with a readable reason.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import resource
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TypeVar

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import Extracted, ExtractOptions, extract

PR_SET_PDEATHSIG = 1
T = TypeVar("T")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_memory_mb = 0


def _limit_child(memory_mb: int) -> None:
    """In the child: cap its address space, and die with the worker that started it."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _die_with_parent()


def _die_with_parent() -> None:
    # Linux: PR_SET_PDEATHSIG, so a worker killed with SIGKILL leaves no orphan behind.
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _get_pool(memory_mb: int) -> ProcessPoolExecutor:
    global _pool, _pool_memory_mb
    if _pool is None or _pool_memory_mb != memory_mb:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        # spawn: a clean interpreter that imports only the extractors, not torch or Django.
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_child,
            initargs=(memory_mb,),
        )
        _pool_memory_mb = memory_mb
    return _pool


def _discard_pool() -> None:
    global _pool
    if _pool is not None:
        for process in list(getattr(_pool, "_processes", {}).values()):
            process.kill()
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def extract_isolated(
    data: bytes, mime_type: str, *, timeout: float, memory_mb: int, options: ExtractOptions
) -> Extracted:
    """``extract`` in a child process; over time or memory, an ``ExtractionError``."""
    return run_isolated(
        partial(extract, data, mime_type, options=options),
        timeout=timeout,
        memory_mb=memory_mb,
        doing="Reading this file",
    )


def run_isolated(
    call: Callable[[], T], *, timeout: float, memory_mb: int, doing: str = "Reading this file"
) -> T:
    """``call`` (a picklable callable of a module that imports no Django) in the child
    process; over time or memory, an ``ExtractionError`` that starts with ``doing``."""
    with _lock:
        try:
            future = _get_pool(memory_mb).submit(call)
        except BrokenProcessPool:
            # The idle child died before this call (not because of it): start a fresh one.
            _discard_pool()
            future = _get_pool(memory_mb).submit(call)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:
            _discard_pool()
            raise ExtractionError(
                f"{doing} took longer than {timeout:.0f} s; it was stopped."
            ) from exc
        except BrokenProcessPool as exc:
            _discard_pool()
            raise ExtractionError(
                f"{doing} needed more than {memory_mb} MB of memory; it was stopped."
            ) from exc
        except MemoryError as exc:
            raise ExtractionError(
                f"{doing} needed more than {memory_mb} MB of memory; it was stopped."
            ) from exc
