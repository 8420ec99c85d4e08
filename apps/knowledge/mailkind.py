"""Telling e-mails and OLE compound files apart by their content.

An ``.eml`` file starts with RFC 822 header lines (``From:``, ``Subject:``, ``Date:``,
``MIME-Version:`` …) before the first blank line. An OLE compound file (magic
``D0 CF 11 E0 A1 B1 1A E1``) is an Outlook message when it holds the MSG streams, a legacy
Office 97–2003 document (refused with a sentence), or an encrypted Office Open XML file (an
``EncryptedPackage`` stream: refused as password-protected).
"""

from __future__ import annotations

import io
import re
from pathlib import PurePath

from apps.knowledge.errors import ExtractionError

MIME_EMAIL = "message/rfc822"
MIME_OUTLOOK = "application/vnd.ms-outlook"
MAIL_MIME_TYPES = (MIME_EMAIL, MIME_OUTLOOK)
MAIL_SUFFIXES = (".eml", ".msg")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*\S?")
_MAIL_HEADERS = frozenset(
    [
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "mime-version",
        "message-id",
        "received",
        "return-path",
        "reply-to",
        "sender",
        "content-type",
        "delivered-to",
        "x-mailer",
    ]
)
# A text file may start with "Subject: …"; an e-mail has more of these, and a sender.
_MIN_MAIL_HEADERS = 3
_LEGACY_STREAMS = (
    ("WordDocument", "legacy Word 97–2003 .doc files are not indexed; save as .docx"),
    ("Workbook", "legacy Excel 97–2003 .xls files are not indexed; save as .xlsx"),
    ("Book", "legacy Excel 95 .xls files are not indexed; save as .xlsx"),
    ("PowerPoint Document", "legacy PowerPoint 97–2003 .ppt files are not indexed; save as .pptx"),
)


def _header_names(head: str) -> list[str] | None:
    """The field names of the header block at the start, or None if it is not one."""
    names: list[str] = []
    for line in head.lstrip("\ufeff").splitlines():
        if not line.strip():
            return names
        if line[0] in " \t" and names:
            continue  # a folded continuation of the previous field
        match = _HEADER_LINE.match(line)
        if match is None:
            return None
        names.append(match.group(1).lower())
    return names


def looks_like_email(head: str, filename: str) -> bool:
    """An RFC 822 message: header lines at the very start, a sender among them."""
    names = _header_names(head)
    if not names:
        return False
    known = {name for name in names if name in _MAIL_HEADERS}
    has_sender = bool(known & {"from", "sender", "return-path", "received"})
    wanted = 2 if PurePath(filename).suffix.lower() == ".eml" else _MIN_MAIL_HEADERS
    return has_sender and len(known) >= wanted


def ole_kind(data: bytes) -> str:
    """``MIME_OUTLOOK`` for an Outlook message; any other OLE file is refused with a reason."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            top = {entry[0] for entry in ole.listdir(streams=True, storages=True)}
    # olefile raises many kinds for a truncated or forged file; at upload, none may be a 500.
    except Exception as exc:
        raise ExtractionError(
            f"The file could not be read as an Outlook message or Office document: {exc}"
        ) from exc
    if "EncryptedPackage" in top:
        raise ExtractionError("The file is password-protected; upload an unprotected copy.")
    if "__properties_version1.0" in top or any(n.startswith("__substg1.0_") for n in top):
        return MIME_OUTLOOK
    for stream, reason in _LEGACY_STREAMS:
        if stream in top:
            raise ExtractionError(f"Unsupported file type: {reason}.")
    raise ExtractionError(
        "Unsupported file type: an OLE compound file that is neither an Outlook message "
        "nor an Office document."
    )
