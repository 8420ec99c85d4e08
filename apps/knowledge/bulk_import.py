"""Bulk import from the file system: folders walked, each file added like an upload.

Every file goes through ``uploads.add_upload`` (the same checks as the browser; a ZIP archive
becomes one document per member), titled by its path relative to the folder given, including
that folder's own name ("docs/policies/leave.pdf"). Running it again is safe: the same content
is left alone, changed content under the same path becomes a new version of that document.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from django.db.models import Max

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import (
    UploadOutcome,
    add_upload,
    largest_upload_bytes,
    title_from_name,
)

Status = Literal["added", "unchanged", "new version", "refused"]
STATUSES: tuple[Status, ...] = ("added", "unchanged", "new version", "refused")
# Called after each file: (number, total, name, what became of it).
Progress = Callable[[int, int, str, str], None]


@dataclass(frozen=True)
class ImportedItem:
    """One document-to-be: a file, or a member of an archive."""

    name: str
    status: Status
    detail: str = ""
    document_id: int | None = None


@dataclass
class ImportReport:
    files: int = 0
    hidden_skipped: int = 0
    items: list[ImportedItem] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def refused(self) -> list[ImportedItem]:
        return [item for item in self.items if item.status == "refused"]

    @property
    def queued(self) -> list[ImportedItem]:
        return [item for item in self.items if item.status in ("added", "new version")]


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def walk(root: Path) -> Iterator[Path | None]:
    """The files under ``root`` in a stable order; ``None`` for each hidden entry skipped.
    Folder links are not followed (no loops); hidden files and folders are skipped."""
    if root.is_file():
        yield root
        return
    for folder, folders, files in os.walk(root):
        hidden = [name for name in folders if is_hidden(name)]
        folders[:] = sorted(name for name in folders if not is_hidden(name))
        yield from (None for _ in hidden)
        for name in sorted(files):
            yield None if is_hidden(name) else Path(folder, name)


def find_files(paths: Sequence[Path], report: ImportReport) -> list[tuple[str, Path]]:
    """(title, path) of every file to import, titled relative to the folder given."""
    found: list[tuple[str, Path]] = []
    for given in paths:
        root = given.resolve()
        for path in walk(root):
            if path is None:
                report.hidden_skipped += 1
                continue
            found.append((path.relative_to(root.parent).as_posix(), path))
    return found


def classify(outcome: UploadOutcome, newest_before: int) -> ImportedItem:
    """Added, unchanged, a new version, or refused (with the reason)."""
    document = outcome.document
    if document is None:
        # The upload checks name the file first; the progress line already does.
        return ImportedItem(
            outcome.name, "refused", outcome.error.removeprefix(f"{outcome.name}: ")
        )
    if outcome.duplicate:
        detail = ""
        if document.title != title_from_name(outcome.name):
            detail = f"same content as {document.title}"
        return ImportedItem(outcome.name, "unchanged", detail, document.pk)
    status: Status = "added" if document.pk > newest_before else "new version"
    return ImportedItem(outcome.name, status, document_id=document.pk)


def import_file(*, knowledge_base: KnowledgeBase, name: str, path: Path) -> list[ImportedItem]:
    """One file (an archive: its members), added like an upload; never raises for bad input."""
    try:
        size = path.stat().st_size
        if size > largest_upload_bytes():  # the type's own limit: validate_upload
            reason = f"{size:,} bytes; the limit is {largest_upload_bytes():,} bytes."
            return [ImportedItem(name, "refused", f"{name} is {reason}")]
        data = path.read_bytes()
    except OSError as exc:
        return [ImportedItem(name, "refused", f"{name} could not be read: {exc.strerror}.")]
    documents = Document.objects.filter(knowledge_base=knowledge_base)
    newest_before = documents.aggregate(newest=Max("pk"))["newest"] or 0
    outcomes = add_upload(knowledge_base=knowledge_base, filename=name, data=data)
    return [classify(outcome, newest_before) for outcome in outcomes]


def describe(name: str, items: Sequence[ImportedItem]) -> str:
    """What became of one file (of each member, for an archive), for its progress line."""
    if len(items) == 1 and items[0].name == name:
        item = items[0]
        return f"{item.status}: {item.detail}" if item.detail else item.status
    counts = Counter(item.status for item in items)
    parts = [f"{counts[status]} {status}" for status in STATUSES if counts[status]]
    return f"archive of {len(items)}: " + ", ".join(parts)


def import_paths(
    *, knowledge_base: KnowledgeBase, paths: Sequence[Path], progress: Progress | None = None
) -> ImportReport:
    """Import every file under ``paths``; the documents are queued for the worker."""
    report = ImportReport()
    found = find_files(paths, report)
    report.files = len(found)
    for number, (name, path) in enumerate(found, start=1):
        items = import_file(knowledge_base=knowledge_base, name=name, path=path)
        report.items += items
        if progress is not None:
            progress(number, len(found), name, describe(name, items))
    return report


def index_now(report: ImportReport, progress: Progress | None = None) -> Counter[str]:
    """Index in this process (instead of leaving it to the worker) every document of the
    report still queued, including unchanged ones that a worker has not indexed yet."""
    outcomes: Counter[str] = Counter()
    ids = {item.document_id for item in report.items if item.document_id is not None}
    waiting = set(
        Document.objects.filter(pk__in=ids, status=Document.Status.QUEUED).values_list(
            "pk", flat=True
        )
    )
    queued = [(i.name, i.document_id) for i in report.items if i.document_id in waiting]
    queued = list({document_id: (name, document_id) for name, document_id in queued}.values())
    for number, (name, document_id) in enumerate(queued, start=1):
        result = index_document(document_id=document_id)
        outcomes[result.outcome] += 1
        if progress is not None:
            detail: str = result.outcome
            if result.outcome == "failed":
                error = Document.objects.filter(pk=document_id).values_list("error", flat=True)
                detail = f"failed: {error.first() or ''}"
            progress(number, len(queued), name, detail)
    return outcomes


def summary_lines(report: ImportReport, knowledge_base: KnowledgeBase) -> list[str]:
    """The closing summary: counts by outcome, then every refused item with its reason."""
    lines = [
        f"Imported {report.files} file{'s' if report.files != 1 else ''} into "
        f"'{knowledge_base.name}' ({len(report.items)} documents or archive members; "
        f"{report.hidden_skipped} hidden skipped):"
    ]
    labels = {"new version": "new versions"}
    lines += [f"  {labels.get(s, s):<13} {report.count(s):>6}" for s in STATUSES]
    if report.refused:
        lines.append("Refused:")
        lines += [f"  {item.name}: {item.detail}" for item in report.refused]
    return lines
