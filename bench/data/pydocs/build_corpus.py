"""Build ``corpus.jsonl`` from the docstrings of the installed Python 3.11 standard library.

Run with ``python3.11 bench/data/pydocs/build_corpus.py`` (standard library only).

One document per public module-level function or class, and per public method of those
classes, from the fixed module list below, whose cleaned docstring (``inspect.cleandoc``)
has at least ``MIN_CHARS`` characters. ``_id`` and ``title`` are the dotted name
(``shutil.copytree``, ``pathlib.Path.rglob``); ``text`` is the cleaned docstring.

Rules, so that the output is deterministic and every document is distinct:

* built-in types and functions re-exported by a module (``typing.Text`` is ``str``) are skipped;
* a module's public names are its ``__all__`` when it has one, otherwise its names without a
  leading underscore whose object is defined in that module (or its private C accelerator,
  e.g. ``_socket`` for ``socket``); submodules and plain values are skipped;
* a class's methods are the public names in the class's own ``__dict__`` (inherited methods
  are not repeated); properties and attributes are skipped;
* an object bound to several names in one module is filed under its ``__name__`` when that
  is one of them (``array.array``, not ``array.ArrayType``);
* an object reachable under several names (``os.path.join`` is ``posixpath.join``; a name
  re-exported by another listed module) is kept once, under the first name in module-list
  order;
* documents whose text is identical to another's (the same docstring copied onto sibling
  classes, e.g. ``io.BufferedReader.read`` / ``io.BufferedRandom.read``) are kept once, under
  the shortest, then alphabetically first, id;
* output rows are sorted by ``_id``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path

MIN_CHARS = 120  # ~150 was the target; at 150 this module list gives only ~1,350 documents

# fmt: off
MODULES = [
    # files, paths and I/O
    "os", "os.path", "shutil", "pathlib", "glob", "fnmatch", "tempfile", "io", "filecmp",
    "mimetypes", "fcntl", "select", "selectors",
    # data formats, compression, archives
    "json", "csv", "pickle", "shelve", "base64", "binascii", "struct", "array", "codecs",
    "configparser", "zipfile", "tarfile", "gzip", "bz2", "lzma", "zlib",
    "xml.etree.ElementTree", "xml.dom.minidom", "html", "html.parser",
    # text
    "re", "string", "textwrap", "difflib", "pprint", "unicodedata", "locale",
    # dates and times
    "datetime", "time", "calendar", "zoneinfo", "sched",
    # data structures and functional tools
    "collections", "itertools", "functools", "operator", "heapq", "bisect", "copy",
    "weakref", "graphlib", "types", "abc",
    # processes, threads, concurrency
    "subprocess", "threading", "queue", "signal", "concurrent.futures", "multiprocessing",
    "multiprocessing.pool", "contextvars", "atexit",
    # logging, CLI, errors, introspection, debugging
    "logging", "logging.handlers", "argparse", "getpass", "warnings", "traceback", "inspect",
    "ast", "dis", "pdb", "faulthandler", "gc", "tracemalloc", "cProfile", "pstats", "timeit",
    # runtime, packaging, imports
    "sys", "platform", "sysconfig", "site", "runpy", "venv", "importlib", "importlib.metadata",
    "importlib.resources", "pkgutil",
    # networking, web, mail
    "sqlite3", "urllib.parse", "urllib.request", "urllib.robotparser", "http.client",
    "http.server", "http.cookies", "http.cookiejar", "socketserver", "xmlrpc.client",
    "email.message", "email.utils", "email.parser", "email.policy", "email.headerregistry",
    "smtplib", "imaplib", "poplib", "ftplib", "socket", "ssl", "ipaddress",
    # hashing, security, numbers, identifiers
    "hashlib", "hmac", "secrets", "random", "statistics", "math", "decimal", "fractions", "uuid",
    # testing, typing, class helpers
    "unittest", "unittest.mock", "doctest", "typing", "dataclasses", "enum", "contextlib",
]

# asyncio has hundreds of names; only a few commonly used ones are included.
ASYNCIO_NAMES = [
    "run", "gather", "wait_for", "wait", "sleep", "create_task", "as_completed", "shield",
    "Queue", "Lock", "Semaphore", "Event", "TimeoutError", "to_thread", "run_coroutine_threadsafe",
    "get_running_loop", "create_subprocess_exec", "create_subprocess_shell", "open_connection",
    "start_server", "Task", "Future", "timeout",
]
# fmt: on


def is_documentable(obj: object) -> bool:
    # Built-in types and functions re-exported under another name (typing.Text is str,
    # concurrent.futures.TimeoutError is the built-in TimeoutError) are not the module's API.
    if getattr(obj, "__module__", None) == "builtins":
        return False
    return inspect.isclass(obj) or inspect.isroutine(obj)


def module_public_names(module: object, modname: str) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return sorted(set(names))
    selected = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name, None)
        if not is_documentable(obj):
            continue
        owner = getattr(obj, "__module__", None) or ""
        base = modname.rsplit(".", 1)[-1]
        if owner in (modname, "_" + base) or owner.startswith(modname + "."):
            selected.append(name)
    return sorted(selected)


def clean(obj: object) -> str:
    doc = getattr(obj, "__doc__", None)
    if not isinstance(doc, str):
        return ""
    return inspect.cleandoc(doc).strip()


def method_objects(cls: type) -> list[tuple[str, object]]:
    found = []
    # Aliases (pdb.Pdb.do_b is do_break) are filed under the function's own __name__.
    items = sorted(
        vars(cls).items(), key=lambda kv: (getattr(kv[1], "__name__", None) != kv[0], kv[0])
    )
    for name, raw in items:
        if name.startswith("_"):
            continue
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if isinstance(raw, property) or not inspect.isroutine(raw):
            continue
        found.append((name, raw))
    return found


def collect() -> list[dict[str, str]]:
    seen_objects: set[int] = set()
    keep_alive: list[object] = []  # ids stay unique only while the objects live
    candidates: list[tuple[str, str]] = []

    def add(dotted: str, obj: object) -> bool:
        if id(obj) in seen_objects:
            return False
        seen_objects.add(id(obj))
        keep_alive.append(obj)
        text = clean(obj)
        if len(text) >= MIN_CHARS:
            candidates.append((dotted, text))
        return True

    plan = [(name, None) for name in MODULES] + [("asyncio", ASYNCIO_NAMES)]
    for modname, only in plan:
        module = importlib.import_module(modname)
        names = only if only is not None else module_public_names(module, modname)
        # An object bound to several names (array.ArrayType is array.array) is filed under
        # its own __name__ when that is one of them.
        names = sorted(
            names, key=lambda n: (getattr(getattr(module, n, None), "__name__", None) != n, n)
        )
        for name in names:
            obj = getattr(module, name, None)
            if not is_documentable(obj):
                continue
            dotted = f"{modname}.{name}"
            if not add(dotted, obj):
                continue
            if inspect.isclass(obj):
                for method_name, method in method_objects(obj):
                    add(f"{dotted}.{method_name}", method)

    by_text: dict[str, str] = {}
    for dotted, text in candidates:
        best = by_text.get(text)
        if best is None or (len(dotted), dotted) < (len(best), best):
            by_text[text] = dotted
    rows = [{"_id": dotted, "title": dotted, "text": text} for text, dotted in by_text.items()]
    rows.sort(key=lambda row: row["_id"])
    return rows


def main() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"run with python3.11 (this is {sys.version.split()[0]})")
    out = Path(__file__).resolve().parent / "corpus.jsonl"
    rows = collect()
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(
        f"{out}: {len(rows)} documents, {out.stat().st_size / 1e6:.2f} MB, Python {sys.version.split()[0]}"
    )


if __name__ == "__main__":
    main()
