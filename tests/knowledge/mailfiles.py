"""E-mails made on the fly: .eml with the standard library, Outlook .msg and other OLE files
with extract-msg's own OLE writer, laid out as [MS-OXMSG] documents them.

An MSG file is an OLE compound file: the message's properties are ``__substg1.0_TTTTPPPP``
streams (property id ``TTTT``, type ``PPPP``: 001F Unicode text, 0102 binary) plus a
``__properties_version1.0`` stream of fixed-size properties; each recipient and each
attachment is a storage of the same shape.
"""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from extract_msg.ole_writer import OleWriter

PT_LONG, PT_UNICODE, PT_BINARY = 0x0003, 0x001F, 0x0102


def eml_bytes(
    *,
    subject: str = "Budget 2025",
    body: str | None = "The budget for 2025 is attached.",
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
    sender: str = "Alice Example <alice@example.com>",
    to: str = "Bob Example <bob@example.com>",
    charset: str = "utf-8",
    cte: str | None = None,
) -> bytes:
    """A message with a plain body and/or an HTML alternative and attachments
    ``(filename, data, "maintype/subtype")``."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = "Mon, 03 Mar 2025 10:15:00 +0100"
    if body is not None:
        message.set_content(body, charset=charset, cte=cte)
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html", charset=charset, cte=cte)
        else:
            message.add_alternative(html, subtype="html", charset=charset, cte=cte)
    for filename, data, content_type in attachments:
        if content_type == "message/rfc822":  # a forwarded message, attached as clients do
            forwarded = BytesParser(policy=policy.default).parsebytes(data)
            message.add_attachment(forwarded, filename=filename)
            continue
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def _text(value: str) -> bytes:
    return value.encode("utf-16-le")


def _filetime(moment: datetime) -> int:
    """100-nanosecond intervals since 1601-01-01, as PT_SYSTIME properties hold them."""
    return int((moment - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)


def _properties(header: bytes, fixed: dict[int, int], variable: dict[int, bytes]) -> bytes:
    """The ``__properties_version1.0`` stream: a header, then 16 bytes per property."""
    entries = b""
    for tag, value in fixed.items():
        entries += struct.pack("<IIQ", tag, 0x6, value)
    for tag, data in variable.items():
        # A string's size counts its terminating NUL, which the stream itself leaves out.
        size = len(data) + (2 if tag & 0xFFFF == PT_UNICODE else 0)
        entries += struct.pack("<IIII", tag, 0x6, size, 0)
    return header + entries


def _add_object(
    writer: OleWriter,
    prefix: list[str],
    header: bytes,
    streams: dict[int, bytes],
    fixed: dict[int, int],
) -> None:
    for tag, data in streams.items():
        writer.addEntry([*prefix, f"__substg1.0_{tag:08X}"], data)
    writer.addEntry([*prefix, "__properties_version1.0"], _properties(header, fixed, streams))


def msg_bytes(
    *,
    subject: str = "Quarterly review",
    body: str = "Please read the review before Friday.",
    sender: str = "Alice Example",
    sender_address: str = "alice@example.com",
    to: list[tuple[str, str]] = [("Bob Example", "bob@example.com")],  # noqa: B006
    attachments: list[tuple[str, bytes]] = [],  # noqa: B006
    headers: str = "",
) -> bytes:
    """An Outlook message (class IPM.Note) with recipients and by-value attachments."""
    writer = OleWriter()
    streams = {
        0x001A001F: _text("IPM.Note"),
        0x0037001F: _text(subject),
        0x1000001F: _text(body),
        0x0C1A001F: _text(sender),
        0x0C1F001F: _text(sender_address),
        0x5D01001F: _text(sender_address),
        0x0E04001F: _text("; ".join(name for name, _ in to)),
    }
    if headers:
        streams[0x007D001F] = _text(headers)
    header = struct.pack("<8xIIII8x", len(to), len(attachments), len(to), len(attachments))
    sent = _filetime(datetime(2025, 3, 3, 9, 15, tzinfo=UTC))
    _add_object(writer, [], header, streams, {0x0E070003: 0, 0x00390040: sent, 0x0E060040: sent})
    for stream in ("00020102", "00030102", "00040102"):  # no named properties: empty maps
        writer.addEntry(["__nameid_version1.0", f"__substg1.0_{stream}"], b"")
    for number, (name, address) in enumerate(to):
        recipient = {
            0x3001001F: _text(name),
            0x3003001F: _text(address),
            0x39FE001F: _text(address),
        }
        path = [f"__recip_version1.0_#{number:08X}"]
        _add_object(writer, path, b"\x00" * 8, recipient, {0x0C150003: 1, 0x0FFE0003: 6})
    for number, (filename, data) in enumerate(attachments):
        attachment = {
            0x3707001F: _text(filename),
            0x3704001F: _text(filename[:12]),
            0x37010102: data,
        }
        path = [f"__attach_version1.0_#{number:08X}"]
        _add_object(writer, path, b"\x00" * 8, attachment, {0x37050003: 1, 0x0FFE0003: 7})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def ole_bytes(streams: dict[str, bytes]) -> bytes:
    """Any OLE compound file with these top-level streams (e.g. ``WordDocument``)."""
    writer = OleWriter()
    for name, data in streams.items():
        writer.addEntry([name], data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_docx(data: bytes, password: str = "secret") -> bytes:
    """A real password-protected Word file (ECMA-376 agile encryption by msoffcrypto-tool)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()
