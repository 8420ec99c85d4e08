"""An e-mail's indexed text: a header block, the body, and its attachments by name.

Attachments of a supported type are documents of their own (split off at upload time by
``uploads`` through ``mail_attachments``); the e-mail's text names them, and lists the
others as "Attachment (not indexed): name" so that nothing is silently lost.
"""

from __future__ import annotations

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import (
    SUPPORTED_MIME_TYPES,
    Extracted,
    ExtractOptions,
    detect_mime_type,
    extract_html,
)
from apps.knowledge.mail import Attachment, Mail, MailLimits, parse_mail


def mail_limits(options: ExtractOptions) -> MailLimits:
    return MailLimits(
        max_depth=options.mail_max_depth,
        max_parts=options.mail_max_parts,
        max_attachments=options.mail_max_attachments,
        max_attachment_bytes=options.max_expanded_bytes,
    )


def mail_attachments(
    data: bytes, mime_type: str, limits: MailLimits
) -> tuple[list[Attachment], list[str]]:
    """The attachments of an e-mail that are indexed as documents of their own, and the
    sentences saying what was left out (past the limits)."""
    mail = parse_mail(data, mime_type, limits)
    return [a for a in mail.attachments if is_indexable(a)], mail.attachment_notes


def is_indexable(attachment: Attachment) -> bool:
    try:
        return detect_mime_type(attachment.data, attachment.name) in SUPPORTED_MIME_TYPES
    except ExtractionError:
        return False


def _header_block(mail: Mail) -> str:
    fields = (
        ("Subject", mail.subject),
        ("From", mail.sender),
        ("To", mail.to),
        ("Cc", mail.cc),
        ("Date", mail.date),
    )
    return "\n".join(f"{name}: {value}" for name, value in fields if value)


def _body(mail: Mail) -> str:
    if any(text.strip() for text in mail.plain):
        return "\n\n".join(text.strip() for text in mail.plain if text.strip())
    return "\n\n".join(extract_html(html).text for html in mail.html if html.strip())


def _attachment_lines(mail: Mail) -> str:
    lines = []
    for attachment in mail.attachments:
        if is_indexable(attachment):
            lines.append(f"Attachment: {attachment.name}")
        else:
            lines.append(f"Attachment (not indexed): {attachment.name}")
    return "\n".join(lines)


def extract_mail(data: bytes, mime_type: str, options: ExtractOptions) -> Extracted:
    """The e-mail as text, its subject as the title."""
    mail = parse_mail(data, mime_type, mail_limits(options))
    blocks = [_header_block(mail), _body(mail), _attachment_lines(mail), "\n".join(mail.notes)]
    text = "\n\n".join(block for block in blocks if block.strip())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Extracted(text=text, title=mail.subject)
