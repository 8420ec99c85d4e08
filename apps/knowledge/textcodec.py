"""Text in any common encoding: which one a file uses, and its text; binary is refused.

The order: a byte-order mark (UTF-8, UTF-16 and UTF-32, either byte order); then UTF-8
(a multi-byte character cut at the very end is tolerated); then UTF-16 without a mark,
recognised by its zero bytes; then charset-normalizer over the lines that hold non-ASCII
bytes (so a few umlauts in a long English file are not drowned out). When the detector
cannot tell Windows-1252 apart from the others it considers equally likely (short
samples), Windows-1252 wins: it is what Windows saves Western European text in.
Content with NUL bytes outside UTF-16/32, or mostly control characters, is binary.
"""

from __future__ import annotations

import codecs
import re

from apps.knowledge.errors import ExtractionError

BINARY_MESSAGE = (
    "Unsupported file type: the content is binary (not UTF-8 or any other text encoding)."
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What the detector may choose from: the encodings text files are commonly saved in
# (EBCDIC and the like are left out: on short samples they "fit" Latin text by chance).
COMMON_ENCODINGS = (
    *("cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r"),
    *("iso8859_5", "cp1253", "iso8859_7", "cp1254", "iso8859_9", "cp1255", "iso8859_8"),
    *("cp1256", "cp1257", "cp1258", "tis_620", "cp874"),
    *("shift_jis", "cp932", "euc_jp", "gb2312", "gbk", "gb18030", "big5", "cp950"),
    *("euc_kr", "cp949"),
)  # not Mac Roman nor the DOS code pages: on short samples they win over Windows-1252
PREFERRED_SINGLE_BYTE = "cp1252"
SAMPLE_BYTES = 64 * 1024
TIE_MARGIN = 0.1
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
MAX_CONTROL_SHARE = 0.1


def _bom_encoding(data: bytes) -> tuple[str, int] | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut by truncation at the very end still makes a UTF-8 file.
        return exc.reason == "unexpected end of data" and exc.start >= len(data) - 3
    return True


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 of mostly Latin text has a zero byte in every other position."""
    head = data[:4096]
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even_zeros = head[0 : pairs * 2 : 2].count(0) / pairs
    odd_zeros = head[1 : pairs * 2 : 2].count(0) / pairs
    if odd_zeros > 0.3 and even_zeros < 0.02:
        return "utf-16-le"
    if even_zeros > 0.3 and odd_zeros < 0.02:
        return "utf-16-be"
    return None


def _non_ascii_lines(data: bytes) -> bytes:
    lines = [line for line in data.split(b"\n") if max(line, default=0) >= 0x80]
    return b"\n".join(lines)[:SAMPLE_BYTES]


def _detected(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    sample = _non_ascii_lines(data)
    matches = from_bytes(sample, cp_isolation=list(COMMON_ENCODINGS))
    best = matches.best()
    if best is None:
        return None
    # Without language evidence (a short sample), a slightly "messier" Windows-1252 reading
    # still wins: the detector counts a "€" or "²" among letters as mess.
    margin = TIE_MARGIN if best.coherence == 0 else 0.0
    tied = [m for m in matches if m.chaos <= best.chaos + margin]
    tied = [m for m in tied if m.coherence >= best.coherence]
    if any(PREFERRED_SINGLE_BYTE in m.could_be_from_charset for m in tied):
        return PREFERRED_SINGLE_BYTE
    if best.coherence == 0 and _preferred_mess(sample) <= best.chaos + margin:
        return PREFERRED_SINGLE_BYTE
    return str(best.encoding)


def _preferred_mess(sample: bytes) -> float:
    from charset_normalizer.md import mess_ratio

    try:
        text = sample.decode(PREFERRED_SINGLE_BYTE)
    except UnicodeDecodeError:
        return 1.0
    return float(mess_ratio(text, maximum_threshold=1.0))


def detect_encoding(data: bytes) -> tuple[str, int]:
    """The encoding of ``data`` and the length of its byte-order mark (0 without one)."""
    marked = _bom_encoding(data)
    if marked is not None:
        return marked
    if _is_utf8(data):
        return "utf-8", 0
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16, 0
    if b"\x00" in data:
        raise ExtractionError(BINARY_MESSAGE)
    detected = _detected(data)
    if detected is None:
        raise ExtractionError(BINARY_MESSAGE)
    return detected, 0


def _check_text(text: str) -> str:
    if "\x00" in text:
        raise ExtractionError(BINARY_MESSAGE)
    sample = text[:SAMPLE_BYTES]
    if sample and len(_CONTROL.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise ExtractionError(BINARY_MESSAGE)
    return text


def _decode_as(data: bytes, encoding: str, *, strict: bool) -> str:
    try:
        return data.decode(encoding, errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise ExtractionError(BINARY_MESSAGE) from exc


def decode_text(data: bytes) -> str:
    """The text of a file in any common encoding (its byte-order mark dropped)."""
    encoding, bom = detect_encoding(data)
    body = data[bom:]
    if encoding == "utf-8":
        # Strict except for the cut character at the end that ``_is_utf8`` tolerates.
        return _check_text(body.decode("utf-8", errors="ignore" if bom == 0 else "replace"))
    # UTF-16/32 must decode cleanly (an odd trailing byte aside); a guessed single-byte or
    # CJK encoding was chosen on a sample, so elsewhere an odd byte becomes U+FFFD.
    if encoding.startswith(("utf-16", "utf-32")):
        unit = 2 if encoding.startswith("utf-16") else 4
        return _check_text(_decode_as(body[: len(body) - len(body) % unit], encoding, strict=True))
    return _check_text(_decode_as(body, encoding, strict=False))


def text_head(data: bytes, size: int = 4096) -> str:
    """The start of the text (for type detection), or an ``ExtractionError`` for binary."""
    encoding, bom = detect_encoding(data)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return _check_text(decoder.decode(data[bom : bom + size], final=False))
