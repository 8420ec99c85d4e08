"""Narrowing a question or a search to some documents: by id, file type and date added.

A ``DocumentFilter`` travels into the retrieval SQL (``apps.search.sql``), where it limits
both halves (vector and full-text) to the chunks of matching documents, always inside the
readable knowledge bases; an empty filter changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from apps.knowledge.extract import MIME_DOCX
from apps.knowledge.formats_image import IMAGE_MIME_TYPES
from apps.knowledge.mailkind import MAIL_MIME_TYPES
from apps.knowledge.office_package import (
    MIME_EPUB,
    MIME_ODP,
    MIME_ODS,
    MIME_ODT,
    MIME_PPTX,
    MIME_RTF,
    MIME_XLSM,
    MIME_XLSX,
)

FILE_TYPES: dict[str, tuple[str, set[str]]] = {
    "pdf": ("PDF", {"application/pdf"}),
    "word": ("Word, OpenDocument text, RTF", {MIME_DOCX, MIME_ODT, MIME_RTF}),
    "sheets": ("Spreadsheets", {MIME_XLSX, MIME_XLSM, MIME_ODS}),
    "slides": ("Presentations", {MIME_PPTX, MIME_ODP}),
    "books": ("E-books", {MIME_EPUB}),
    "images": ("Images (PNG, JPEG, TIFF, WebP)", set(IMAGE_MIME_TYPES)),
    "text": ("Text and Markdown", {"text/plain", "text/markdown"}),
    "web": ("Web pages", {"text/html"}),
    "data": ("CSV and JSON", {"text/csv", "application/json", "application/jsonl"}),
    "email": ("E-mail", set(MAIL_MIME_TYPES)),
}
MAX_FILTER_DOCUMENTS = 50


@dataclass(frozen=True)
class DocumentFilter:
    """Which documents may answer. ``document_ids`` include their parts (an e-mail's
    attachments); ``added_before`` is inclusive (the whole day)."""

    document_ids: tuple[int, ...] = ()
    file_types: tuple[str, ...] = ()
    added_after: date | None = None
    added_before: date | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.document_ids or self.file_types or self.added_after or self.added_before)

    @property
    def mime_types(self) -> list[str]:
        return sorted(
            {m for key in self.file_types if key in FILE_TYPES for m in FILE_TYPES[key][1]}
        )

    def sql_params(self) -> dict[str, Any]:
        """The filter's values for ``apps.search.sql`` (NULL where a part is not set)."""
        return {
            "f_doc_ids": list(self.document_ids) or None,
            "f_mimes": self.mime_types or None,
            "f_after": self.added_after,
            "f_before": self.added_before,
        }

    def as_json(self) -> dict[str, Any]:
        """What a stored question remembers of its filter (shown beside it)."""
        return {
            "documents": list(self.document_ids),
            "file_types": list(self.file_types),
            "added_after": self.added_after.isoformat() if self.added_after else None,
            "added_before": self.added_before.isoformat() if self.added_before else None,
        }


def document_filter(
    *,
    document_ids: Sequence[int] = (),
    file_types: Sequence[str] = (),
    added_after: date | None = None,
    added_before: date | None = None,
) -> DocumentFilter:
    """A filter with unknown file types dropped and at most ``MAX_FILTER_DOCUMENTS`` ids."""
    return DocumentFilter(
        document_ids=tuple(sorted({int(i) for i in document_ids}))[:MAX_FILTER_DOCUMENTS],
        file_types=tuple(sorted({t for t in file_types if t in FILE_TYPES})),
        added_after=added_after,
        added_before=added_before,
    )


NO_FILTER = DocumentFilter()
