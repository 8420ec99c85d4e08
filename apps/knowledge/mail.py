"""E-mail as text: an ``.eml`` (the standard library's ``email`` package) or an Outlook
``.msg`` (``outlook.py``) read into one ``Mail``, then rendered for indexing.

The text starts with a short header block (subject, sender, recipients, date), then the
plain body, or the HTML part cleaned like any web page when there is no plain one, then
the attachments by name. Attachments of a supported type become documents of their own
(``uploads``, at upload time, from ``mail_attachments``); the rest are listed as
"Attachment (not indexed): name". Nesting depth, part count and decoded attachment bytes
are bounded (``MailLimits``): past a bound the message degrades with a sentence saying so.
"""

from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass, field
from email import policy
from email.errors import MessageError
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import PurePosixPath

from apps.knowledge.errors import ExtractionError
from apps.knowledge.mailkind import MIME_EMAIL, MIME_OUTLOOK

BROKEN_MIME = "The message's MIME structure is broken; its body is shown as it was sent."
_SAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class MailLimits:
    max_depth: int = 10  # multipart nesting
    max_parts: int = 1_000  # MIME parts read
    max_attachments: int = 100
    max_attachment_bytes: int = 100 * 1024 * 1024  # all attachments together, decoded


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


@dataclass
class Mail:
    subject: str = ""
    sender: str = ""
    to: str = ""
    cc: str = ""
    date: str = ""
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the message was degraded
    attachment_notes: list[str] = field(default_factory=list)  # attachments left out
    parts_seen: int = 0
    attachment_bytes: int = 0

    def add_attachment(self, name: str, data: bytes, limits: MailLimits) -> None:
        """Keep an attachment within the count and size bounds; past them, say so once."""
        if len(self.attachments) >= limits.max_attachments:
            self.left_out(f"Only the first {limits.max_attachments} attachments are indexed.")
            return
        if self.attachment_bytes + len(data) > limits.max_attachment_bytes:
            self.left_out(
                f"Attachments past {limits.max_attachment_bytes:,} bytes in all are not indexed."
            )
            return
        self.attachment_bytes += len(data)
        name = unique_name(attachment_name(name, len(self.attachments)), self.attachments)
        self.attachments.append(Attachment(name, data))

    def note(self, sentence: str) -> None:
        if sentence not in self.notes:
            self.notes.append(sentence)

    def left_out(self, sentence: str) -> None:
        """A note about attachments not indexed (the upload reports these too)."""
        self.note(sentence)
        if sentence not in self.attachment_notes:
            self.attachment_notes.append(sentence)


def attachment_name(raw: str, index: int) -> str:
    """A plain file name (no folders, no control characters), never empty."""
    name = PurePosixPath(_SAFE_NAME.sub("/", raw or "")).name.strip()
    return name[:200] or f"attachment-{index + 1}"


def unique_name(name: str, taken: list[Attachment]) -> str:
    """Two attachments called "scan.pdf" stay two documents: "scan.pdf", "scan (2).pdf"."""
    names = {attachment.name for attachment in taken}
    path = PurePosixPath(name)
    candidate, number = name, 1
    while candidate in names:
        number += 1
        candidate = f"{path.stem} ({number}){path.suffix}"
    return candidate


def parse_mail(data: bytes, mime_type: str, limits: MailLimits) -> Mail:
    if mime_type == MIME_OUTLOOK:
        from apps.knowledge.outlook import parse_msg

        return parse_msg(data, limits)
    if mime_type == MIME_EMAIL:
        return parse_eml(data, limits)
    raise ExtractionError(f"Not an e-mail: {mime_type}.")


def parse_eml(data: bytes, limits: MailLimits) -> Mail:
    """Headers, bodies and attachments of an RFC 822 message, within ``limits``."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        mail = Mail(
            subject=_header(message, "Subject"),
            sender=_header(message, "From"),
            to=_header(message, "To"),
            cc=_header(message, "Cc"),
            date=_header(message, "Date"),
        )
        _walk(message, mail, limits, depth=0)
    except RecursionError as exc:
        raise ExtractionError("The e-mail is nested too deeply to be read.") from exc
    except (ValueError, LookupError, TypeError, AttributeError, IndexError, MessageError) as exc:
        raise ExtractionError(f"The e-mail could not be read: {exc}") from exc
    if message.defects and not (mail.plain or mail.html or mail.attachments):
        # A broken MIME boundary: the parts cannot be told apart, the raw body is kept.
        mail.plain.append(_raw_body(message))
        mail.note(BROKEN_MIME)
    return mail


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        return ""
    return " ".join(str(value).split())[:1000] if value is not None else ""


def _raw_body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="replace")
    return str(message.get_payload())


def _walk(part: Message, mail: Mail, limits: MailLimits, *, depth: int) -> None:
    mail.parts_seen += 1
    if mail.parts_seen > limits.max_parts:
        mail.note(f"The message has more than {limits.max_parts} parts; the rest is not read.")
        return
    content_type = part.get_content_type()
    if content_type == "message/rfc822" and depth > 0:
        _attach_message(part, mail, limits)
        return
    if part.get_content_maintype() == "multipart" and not part.is_multipart():
        # The boundary is missing or wrong: the parts cannot be told apart.
        mail.plain.append(_raw_body(part))
        mail.note(BROKEN_MIME)
        return
    if part.is_multipart():
        if depth >= limits.max_depth:
            mail.note(f"Parts nested deeper than {limits.max_depth} levels are not read.")
            return
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _walk(sub, mail, limits, depth=depth + 1)
        return
    _leaf(part, mail, limits)


def _attach_message(part: Message, mail: Mail, limits: MailLimits) -> None:
    """A forwarded message: an e-mail document of its own."""
    inner = part.get_payload()
    message = inner[0] if isinstance(inner, list) and inner else None
    if not isinstance(message, Message):
        return
    data = message.as_bytes(policy=policy.default)
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":  # not allowed for message/rfc822, but some clients send it
        data = base64.b64decode(data, validate=False)
        message = BytesParser(policy=policy.default).parsebytes(data)
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
        message = BytesParser(policy=policy.default).parsebytes(data)
    name = part.get_filename() or (_header(message, "Subject") or "forwarded message") + ".eml"
    mail.add_attachment(name, data, limits)


def _leaf(part: Message, mail: Mail, limits: MailLimits) -> None:
    filename = part.get_filename()
    content_type = part.get_content_type()
    is_body = part.get_content_disposition() != "attachment" and not filename
    if is_body and content_type in ("text/plain", "text/html"):
        text = _text_content(part)
        (mail.plain if content_type == "text/plain" else mail.html).append(text)
        return
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes) and payload:
        mail.add_attachment(filename or f"part.{part.get_content_subtype()}", payload, limits)


def _text_content(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            return str(part.get_content())
        except (LookupError, ValueError, KeyError):
            pass
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
