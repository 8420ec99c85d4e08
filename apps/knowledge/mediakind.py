"""Which bytes are a recording (audio or video), from the content: the types and their
magic numbers, without importing a decoder (``formats_media`` decodes)."""

from __future__ import annotations

MIME_MP3 = "audio/mpeg"
MIME_WAV = "audio/wav"
MIME_FLAC = "audio/flac"
MIME_OGG = "audio/ogg"
MIME_M4A = "audio/mp4"
MIME_AAC = "audio/aac"
MIME_AIFF = "audio/aiff"
MIME_WMA = "audio/x-ms-wma"
MIME_MP4 = "video/mp4"
MIME_MOV = "video/quicktime"
MIME_WEBM = "video/webm"
MIME_MKV = "video/x-matroska"
MEDIA_MIME_TYPES = (
    MIME_MP3,
    MIME_WAV,
    MIME_FLAC,
    MIME_OGG,
    MIME_M4A,
    MIME_AAC,
    MIME_AIFF,
    MIME_WMA,
    MIME_MP4,
    MIME_MOV,
    MIME_WEBM,
    MIME_MKV,
)
# What a browser's <video> element plays; the others go in an <audio> element.
VIDEO_MIME_TYPES = (MIME_MP4, MIME_MOV, MIME_WEBM, MIME_MKV)
MEDIA_SUFFIXES = (
    ".mp3",
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".aif",
    ".aiff",
    ".wma",
    ".mp4",
    ".m4v",
    ".mov",
    ".webm",
    ".mkv",
)
# ISO base media brands that are pictures, not recordings (HEIC, AVIF).
_PICTURE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
_ASF_MAGIC = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def detect_media(data: bytes) -> str | None:
    """The recording's type from its first bytes, or None when it is not one."""
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return MIME_WAV
    if _is_id3_tag(head) or _is_mpeg_audio_frame(head):
        return MIME_MP3
    if _is_adts(head):
        return MIME_AAC
    if head.startswith(b"OggS"):
        return MIME_OGG
    if head.startswith(b"fLaC"):
        return MIME_FLAC
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return MIME_AIFF
    if head.startswith(_ASF_MAGIC):
        return MIME_WMA
    if head[4:8] == b"ftyp":
        return _iso_media_kind(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM or Matroska
        return MIME_WEBM if b"webm" in data[:4096] else MIME_MKV
    return None


def _is_id3_tag(head: bytes) -> bool:
    """An ID3v2 tag: "ID3", version 2–4, and four 7-bit ("synchsafe") size bytes."""
    return (
        len(head) >= 10
        and head.startswith(b"ID3")
        and head[3] in (2, 3, 4)
        and head[4] != 0xFF
        and all(b < 0x80 for b in head[6:10])
    )


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a known version, Layer II or III (Layer I,
    never used for recordings, is what UTF-16's byte order mark ``FF FE`` would read as), a
    real bit rate and sample rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer in (0b01, 0b10) and bitrate not in (0, 15) and rate != 0b11


def _is_adts(head: bytes) -> bool:
    """An AAC ADTS header: sync, layer 0, a known sampling frequency index."""
    return (
        len(head) >= 7 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0xF < 13
    )


def _iso_media_kind(brand: bytes) -> str | None:
    if brand in _PICTURE_BRANDS:
        return None
    if brand in _AUDIO_BRANDS:
        return MIME_M4A
    return MIME_MOV if brand == b"qt  " else MIME_MP4


def clock(seconds: float) -> str:
    """12:34, or 1:02:03 from an hour on."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
