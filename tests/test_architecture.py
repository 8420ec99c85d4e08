"""The rules of the house, checked by reading the source (zulip-style).

Every ``.py`` file under ``apps/`` and ``qa_site/`` (migrations excepted) is parsed with
``ast``; nothing is imported, so these tests need no database and survive modules being
moved around. Each failure lists ``path:line`` of every offender. An allow-list entry
says why it is there; a file named in one must exist, so the lists cannot go stale.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("apps", "qa_site")

# Which apps each app may import (its own modules are always allowed). Dependencies run one
# way: modelapi <- knowledge <- search <- chat, with evaluation on top; nothing imports
# evaluation, and localmodels (the built-in provider, reached over HTTP only) stands alone.
# A new app fails `test_every_app_is_in_the_dependency_table` until it is added here.
ALLOWED_APP_IMPORTS: dict[str, frozenset[str]] = {
    "modelapi": frozenset(),
    "knowledge": frozenset({"modelapi"}),
    "search": frozenset({"knowledge", "modelapi"}),
    "chat": frozenset({"search", "knowledge", "modelapi"}),
    "evaluation": frozenset({"search", "knowledge", "modelapi"}),
    "localmodels": frozenset(),
    "sources": frozenset({"knowledge", "modelapi"}),
    "accounts": frozenset(),
    # OpenID Connect sign-in: users, identities and groups only (Django's auth), no other app.
    "sso": frozenset(),
    # What staff learn from the answers: reads answers, documents and sources; imported by none.
    "insight": frozenset({"chat", "knowledge", "sources"}),
    "api": frozenset({"accounts", "chat", "search", "knowledge", "sources", "modelapi"}),
    # Health, metrics, backup: reads every app's state, imported by none of them.
    "operations": frozenset({"accounts", "chat", "search", "knowledge", "sources", "modelapi"}),
}
# Apps that no module outside themselves may import (the project package included).
IMPORTED_BY_NOBODY = ("evaluation", "localmodels")

# Raw SQL lives in the retrieval SQL module only.
RAW_SQL_MODULES = {"apps/search/sql.py"}
RAW_SQL_ALLOWED = {
    # Server-level SQL before Django has a database: checks pg_database and runs CREATE
    # DATABASE on the embedded server's maintenance database through psycopg, which the ORM
    # cannot express (the database Django would connect to does not exist yet).
    "qa_site/embedded_db.py": "creates the embedded server's database before Django connects",
    # Reads the server's version and pgvector's (one catalog query) for the start-up check.
    "qa_site/database_check.py": "reads the server and pgvector versions for the system check",
    # Counts every table's rows on the old and the new embedded server while moving PostgreSQL 16
    # data to 18, before Django connects (psycopg on the servers' sockets).
    "qa_site/embedded_upgrade.py": "checks the moved databases row for row before Django connects",
    # Counts the other sessions on the database before a restore replaces it (pg_stat_activity).
    "apps/operations/backup.py": "refuses to restore over a database that other sessions use",
}
# Method calls that run SQL by hand. `.execute(` is there too: psycopg's own connection (or a
# cursor obtained any other way) is as raw as `connection.cursor()`.
RAW_SQL_METHODS = frozenset({"cursor", "raw", "extra", "execute", "executemany"})
RAW_SQL_CALLABLES = frozenset({"RawSQL"})

# httpx: the model-API transport (and its streamed chat completions), and the web fetcher.
HTTPX_MODULES = (
    "apps/modelapi/transport.py",
    "apps/modelapi/*stream*.py",
    "apps/knowledge/fetch.py",
    # The identity provider's discovery document and signing keys (JWKS), with timeouts.
    "apps/sso/discovery.py",
)

# The environment is read by the settings through qa_site/env.py, nowhere else.
ENVIRON_MODULES = {"qa_site/settings.py", "qa_site/env.py"}
ENVIRON_ALLOWED = {
    # Django's entry points name the settings module before any settings exist
    # (`os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`, as startproject writes them).
    "qa_site/asgi.py": "sets DJANGO_SETTINGS_MODULE before the settings are loaded",
    "qa_site/wsgi.py": "sets DJANGO_SETTINGS_MODULE before the settings are loaded",
    # pg_dump / pg_restore / psql get the database's password in PGPASSWORD (never on argv),
    # added to the environment they inherit.
    "apps/operations/pgclient.py": "passes the database connection to PostgreSQL's programs",
}
ENVIRON_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})

MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


@dataclass(frozen=True)
class Module:
    path: str  # relative to the project root, with forward slashes
    name: str  # dotted module name
    tree: ast.Module
    line_count: int

    @property
    def app(self) -> str | None:
        """``chat`` for ``apps/chat/...``; None for ``qa_site`` and ``apps/__init__.py``."""
        parts = self.path.split("/")
        return parts[1] if parts[0] == "apps" and len(parts) > 2 else None

    @property
    def is_package(self) -> bool:
        return self.path.endswith("/__init__.py")


@dataclass(frozen=True)
class Import:
    module: str  # the absolute dotted name imported (``from a import b`` gives ``a.b``)
    line: int


@functools.cache
def modules() -> tuple[Module, ...]:
    found = []
    for top in SOURCE_DIRS:
        for file in sorted((ROOT / top).rglob("*.py")):
            relative = file.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            text = file.read_text(encoding="utf-8")
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append(
                Module(
                    path=relative.as_posix(),
                    name=".".join(parts),
                    tree=ast.parse(text, filename=str(relative)),
                    line_count=len(text.splitlines()),
                )
            )
    assert found, f"no modules found under {SOURCE_DIRS} in {ROOT}"
    return tuple(found)


def module(path: str) -> Module | None:
    return next((m for m in modules() if m.path == path), None)


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    if not module.is_package:
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: Module) -> list[Import]:
    """Every import anywhere in the module: top level, inside functions, under TYPE_CHECKING,
    and ``import_module("...")`` with a literal name; in line order."""
    return sorted(_imports(module), key=lambda imp: imp.line)


def _imports(module: Module) -> Iterator[Import]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            if base != "apps":
                yield Import(base, node.lineno)
            else:
                # `from apps import chat, search` imports apps.chat and apps.search.
                for alias in node.names:
                    yield Import(f"{base}.{alias.name}", node.lineno)
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(node.args[0].value, node.lineno)


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def imported_app(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "apps" and len(parts) > 1 else None


def app_names() -> set[str]:
    return {m.app for m in modules() if m.app is not None}


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    """Glob match where ``*`` stays within one directory (``apps/*/tasks.py``)."""
    return any(PurePosixPath(path).match(pattern) for pattern in patterns)


def report(rule: str, offenders: list[str]) -> str:
    return f"{rule} ({len(offenders)}):\n  " + "\n  ".join(offenders)


# --- Dependencies between apps ---


def test_every_app_is_in_the_dependency_table() -> None:
    missing = sorted(app_names() - ALLOWED_APP_IMPORTS.keys())
    assert not missing, (
        f"apps missing from ALLOWED_APP_IMPORTS in tests/test_architecture.py: {missing}; "
        "add each with the apps it may import"
    )


def test_apps_import_only_the_apps_below_them() -> None:
    offenders = []
    for mod in modules():
        if mod.app is None:
            continue
        allowed = ALLOWED_APP_IMPORTS.get(mod.app, frozenset())
        for imp in imports(mod):
            target = imported_app(imp.module)
            if target is None or target == mod.app or target in allowed:
                continue
            offenders.append(
                f"{mod.path}:{imp.line}: app {mod.app} imports {imp.module} "
                f"(app {mod.app} may import only {sorted(allowed) or 'no other app'})"
            )
    assert not offenders, report("imports against the dependency order", offenders)


def test_only_apps_in_the_table_are_imported() -> None:
    offenders = [
        f"{mod.path}:{imp.line}: imports {imp.module}, app {target} is not in ALLOWED_APP_IMPORTS"
        for mod in modules()
        for imp in imports(mod)
        if (target := imported_app(imp.module)) is not None and target not in ALLOWED_APP_IMPORTS
    ]
    assert not offenders, report("imports of apps unknown to the table", offenders)


def test_nobody_imports_the_evaluation_app_or_the_local_provider() -> None:
    """qa_site/urls.py reaches the provider by the string "apps.localmodels.urls" in
    ``include()``: a string, not an import, so the provider stays reachable over HTTP only."""
    offenders = [
        f"{mod.path}:{imp.line}: imports {imp.module}"
        for mod in modules()
        for imp in imports(mod)
        if (target := imported_app(imp.module)) in IMPORTED_BY_NOBODY and target != mod.app
    ]
    assert not offenders, report(f"imports of {', '.join(IMPORTED_BY_NOBODY)}", offenders)


def test_the_local_provider_imports_no_other_app() -> None:
    offenders = [
        f"{mod.path}:{imp.line}: imports {imp.module}"
        for mod in modules()
        if mod.app == "localmodels"
        for imp in imports(mod)
        if imported_app(imp.module) not in (None, "localmodels")
    ]
    assert not offenders, report("apps.localmodels importing other apps", offenders)


# --- One boundary per outside system ---


def _raw_sql_calls(mod: Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(mod.tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in RAW_SQL_METHODS:
            yield node.lineno, f".{node.func.attr}("
        elif _called_name(node.func) in RAW_SQL_CALLABLES:
            yield node.lineno, f"{_called_name(node.func)}("


def test_raw_sql_lives_only_in_the_retrieval_sql_module() -> None:
    offenders = [
        f"{mod.path}:{line}: {call}"
        for mod in modules()
        if mod.path not in RAW_SQL_MODULES | RAW_SQL_ALLOWED.keys()
        for line, call in _raw_sql_calls(mod)
    ]
    assert not offenders, report(f"raw SQL outside {sorted(RAW_SQL_MODULES)}", offenders)


def test_httpx_is_imported_only_by_the_model_api_transport_and_the_web_fetcher() -> None:
    offenders = [
        f"{mod.path}:{imp.line}: imports {imp.module}"
        for mod in modules()
        if not matches(mod.path, HTTPX_MODULES)
        for imp in imports(mod)
        if imp.module == "httpx" or imp.module.startswith("httpx.")
    ]
    assert not offenders, report(f"httpx outside {list(HTTPX_MODULES)}", offenders)


def _environ_reads(mod: Module) -> Iterator[tuple[int, str]]:
    os_names = {"os"}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ENVIRON_NAMES:
                    yield node.lineno, f"from os import {alias.name}"
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRON_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
        ):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def test_only_the_settings_read_the_environment() -> None:
    offenders = [
        f"{mod.path}:{line}: {what}"
        for mod in modules()
        if mod.path not in ENVIRON_MODULES | ENVIRON_ALLOWED.keys()
        for line, what in _environ_reads(mod)
    ]
    assert not offenders, report(f"environment read outside {sorted(ENVIRON_MODULES)}", offenders)


def test_allow_lists_name_files_that_exist() -> None:
    named = [*RAW_SQL_MODULES, *RAW_SQL_ALLOWED, *ENVIRON_MODULES, *ENVIRON_ALLOWED]
    missing = sorted(path for path in named if module(path) is None)
    globbed = [p for p in HTTPX_MODULES if not any(matches(m.path, (p,)) for m in modules())]
    assert not missing and not globbed, f"allow-lists name missing files: {missing + globbed}"


# --- Size ---


def test_no_function_is_longer_than_60_lines() -> None:
    offenders = []
    for mod in modules():
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{mod.path}:{node.lineno}: {node.name} is {length} lines")
    assert not offenders, report(f"functions over {MAX_FUNCTION_LINES} lines", offenders)


def test_no_module_is_longer_than_400_lines() -> None:
    offenders = [
        f"{mod.path}:1: {mod.line_count} lines"
        for mod in modules()
        if mod.line_count > MAX_MODULE_LINES
    ]
    assert not offenders, report(f"modules over {MAX_MODULE_LINES} lines", offenders)


# --- Tasks ---


def _top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under a top-level if/try (TYPE_CHECKING)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _top_level_statements([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            handlers = [s for h in node.handlers for s in h.body]
            yield from _top_level_statements([*node.body, *handlers, *node.orelse, *node.finalbody])


def test_tasks_import_their_service_inside_the_task_body() -> None:
    """HackSoft's rule: the service imports the task at the top to enqueue it, so the task
    module may import only its own app's models at the top; services are imported in the
    task body."""
    offenders = []
    for mod in modules():
        if not matches(mod.path, ("apps/*/tasks.py",)):
            continue
        own_models = f"apps.{mod.app}.models"
        for node in _top_level_statements(mod.tree.body):
            if isinstance(node, ast.ImportFrom):
                names = [_absolute(mod, node)]
                if names[0] == f"apps.{mod.app}":
                    names = [f"{names[0]}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if imported_app(name) is not None and name != own_models:
                    offenders.append(f"{mod.path}:{node.lineno}: top-level import of {name}")
    assert not offenders, report("task modules importing services at the top", offenders)
