"""Outlook ``.msg`` files through extract-msg, read into the same ``Mail`` as an ``.eml``."""

from __future__ import annotations

import logging
from typing import Any

from apps.knowledge.errors import ExtractionError
from apps.knowledge.mail import Mail, MailLimits

# extract-msg reports every oddity of a file at WARNING or above; a broken file is reported
# here as one sentence on the document instead.
logging.getLogger("extract_msg").setLevel(logging.CRITICAL)


def parse_msg(data: bytes, limits: MailLimits) -> Mail:
    """Headers, body and attachments of an Outlook message (embedded messages included)."""
    import extract_msg

    try:
        message = extract_msg.openMsg(data, strict=False, delayAttachments=True)
    except RecursionError as exc:
        raise ExtractionError("The Outlook message is nested too deeply to be read.") from exc
    # extract-msg and olefile raise many kinds for a truncated or broken file.
    except Exception as exc:
        raise ExtractionError(f"The Outlook message could not be read: {exc}") from exc
    try:
        return _read(message, limits)
    except RecursionError as exc:
        raise ExtractionError("The Outlook message is nested too deeply to be read.") from exc
    except Exception as exc:
        raise ExtractionError(f"The Outlook message could not be read: {exc}") from exc
    finally:
        message.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())[:1000]


def _read(message: Any, limits: MailLimits) -> Mail:
    date = getattr(message, "date", None)
    mail = Mail(
        subject=_text(getattr(message, "subject", "")),
        sender=_text(getattr(message, "sender", "")),
        to=_text(getattr(message, "to", "")),
        cc=_text(getattr(message, "cc", "")),
        date=date.strftime("%a, %d %b %Y %H:%M:%S %z").strip() if date else "",
    )
    body = getattr(message, "body", None)
    if body and str(body).strip():
        mail.plain.append(str(body))
    else:
        html = getattr(message, "htmlBody", None)
        if html:
            mail.html.append(
                html.decode("utf-8", errors="replace") if isinstance(html, bytes) else str(html)
            )
    attachments = list(getattr(message, "attachments", []))
    for index, attachment in enumerate(attachments):
        if index >= limits.max_attachments:
            mail.left_out(f"Only the first {limits.max_attachments} attachments are indexed.")
            break
        _attach(attachment, mail, limits)
    return mail


def _attach(attachment: Any, mail: Mail, limits: MailLimits) -> None:
    name = str(getattr(attachment, "longFilename", None) or getattr(attachment, "name", None) or "")
    data = getattr(attachment, "data", None)
    if data is not None and hasattr(data, "exportBytes"):  # an embedded message
        name = name or _text(getattr(data, "subject", "")) or "embedded message"
        if not name.lower().endswith(".msg"):
            name += ".msg"
        data = data.exportBytes()
    if isinstance(data, bytes) and data:
        mail.add_attachment(name, data, limits)
    elif name:
        mail.left_out(f"The attachment {name!r} could not be read.")
