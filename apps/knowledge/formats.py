"""Extractors for structured formats: DOCX, CSV, JSON / JSON Lines, and ZIP archives.

Each returns text in the same convention as ``extract``: Markdown heading lines for
structure, blank lines between records, so that the chunker treats them alike.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from apps.knowledge.errors import ExtractionError

# A member whose size grows past this many times its compressed size is treated as a bomb.
MAX_COMPRESSION_RATIO = 200


# What reading one ZIP member can raise besides our own errors: a corrupt or lying member
# (BadZipFile, zlib.error, EOFError, OSError), and NotImplementedError for a compression
# method zipfile cannot read (implode, PPMd) — that member fails with a reason like any other.
ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError)


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_expanded_bytes: int
    max_member_bytes: int


@dataclass(frozen=True)
class ArchiveMember:
    path: str
    data: bytes


def check_zip_expansion(archive: zipfile.ZipFile, *, max_expanded_bytes: int) -> None:
    """Refuse archives whose declared sizes or ratios give them away as bombs."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if total > max_expanded_bytes:
            raise ExtractionError(
                f"The archive expands past the limit of {max_expanded_bytes:,} bytes."
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
            raise ExtractionError(
                f"The archive member {info.filename!r} is compressed suspiciously well "
                f"(ratio over {MAX_COMPRESSION_RATIO}); refusing to expand it."
            )


def _read_member_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a member, never more than ``limit`` bytes whatever its header claims.

    A member whose header lies about its size, or whose data is corrupt, fails with a
    reason (its CRC or stream check breaks) instead of an unhandled error.
    """
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except ZIP_MEMBER_ERRORS as exc:
        raise ExtractionError(
            f"The archive member {info.filename!r} could not be read: {exc}"
        ) from exc
    if len(data) > limit:
        raise ExtractionError(f"The archive member {info.filename!r} expands past {limit:,} bytes.")
    return data


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionError(f"The archive could not be read: {exc}") from exc


def _skipped_member(path: PurePosixPath) -> bool:
    hidden = (part.startswith(".") and part not in (".", "..") for part in path.parts)
    return "__MACOSX" in path.parts or any(hidden)


def expand_zip(data: bytes, limits: ArchiveLimits) -> list[ArchiveMember]:
    """The files of a ZIP archive, with their nested paths, within ``limits``."""
    archive = _open_zip(data)
    with archive:
        check_zip_expansion(archive, max_expanded_bytes=limits.max_expanded_bytes)
        files = [i for i in archive.infolist() if not i.is_dir()]
        files = [i for i in files if not _skipped_member(PurePosixPath(i.filename))]
        if not files:
            raise ExtractionError("The archive is empty.")
        if len(files) > limits.max_members:
            raise ExtractionError(
                f"The archive holds {len(files)} files; the limit is {limits.max_members}."
            )
        members = []
        expanded = 0
        for info in files:
            if info.flag_bits & 0x1:
                raise ExtractionError(f"The archive member {info.filename!r} is encrypted.")
            member = _read_member_capped(archive, info, limits.max_member_bytes)
            expanded += len(member)
            if expanded > limits.max_expanded_bytes:
                raise ExtractionError(
                    f"The archive expands past the limit of {limits.max_expanded_bytes:,} bytes."
                )
            members.append(ArchiveMember(info.filename, member))
        return members


def is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def extract_docx(data: bytes, *, max_expanded_bytes: int) -> str:
    """Paragraphs and tables in body order; Word headings become Markdown headings."""
    from docx import Document as open_docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    with _open_zip(data) as archive:
        check_zip_expansion(archive, max_expanded_bytes=max_expanded_bytes)
    try:
        document = open_docx(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for broken packages
        raise ExtractionError(f"The Word document could not be read: {exc}") from exc
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if text:
                blocks.append(_heading_prefix(item.style.name if item.style else "") + text)
        elif isinstance(item, Table):
            for row in item.rows:
                cells = [cell.text.strip() for cell in row.cells]
                if any(cells):
                    blocks.append(" | ".join(cells))
    return "\n\n".join(blocks)


def _heading_prefix(style: str) -> str:
    if style == "Title":
        return "# "
    if style.startswith("Heading "):
        level = style.removeprefix("Heading ").strip()
        if level.isdigit():
            return "#" * min(int(level), 6) + " "
    return ""


def extract_csv(text: str) -> str:
    """One record per row, as ``header: value`` pairs, rows separated by blank lines."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if not rows:
        return ""
    header, records = rows[0], rows[1:]
    if not records:
        return " | ".join(header)
    blocks = []
    for row in records:
        pairs = [
            f"{name.strip() or f'column {i + 1}'}: {value.strip()}"
            for i, (name, value) in enumerate(zip(header, row, strict=False))
            if value.strip()
        ]
        if pairs:
            blocks.append("; ".join(pairs))
    return "\n\n".join(blocks)


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    elif isinstance(value, str) and value.strip():
        yield path, value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, str(value)


def _record(value: Any) -> str:
    return "; ".join(f"{key}: {text}" if key else text for key, text in _leaves(value))


def extract_json(text: str) -> str:
    """A top-level list becomes one record per item; an object, one record per key."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ExtractionError(f"The JSON file is not valid: {exc}") from exc
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        items = [{key: item} for key, item in value.items()]
    else:
        items = [value]
    return "\n\n".join(record for record in map(_record, items) if record)


def extract_jsonl(text: str) -> str:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(_record(json.loads(line)))
        except ValueError as exc:
            raise ExtractionError(
                f"Line {number} of the JSON Lines file is not valid JSON: {exc}"
            ) from exc
    return "\n\n".join(record for record in records if record)
