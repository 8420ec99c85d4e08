"""Original files served with HTTP byte ranges (RFC 9110 §14), so that a browser's audio or
video player can seek in a recording: Chromium only sets ``currentTime`` on a media
element whose server answers ``Range`` with 206. Django's ``FileResponse`` ignores Range.

Only one range is served. A header this module cannot read (another unit, several
ranges, anything odd) is ignored and the whole file goes out with 200, which RFC 9110
allows; a range outside the file gets 416. ``If-Range`` is not evaluated: a request that
carries it gets the whole file (always correct, since stored originals have no validators
we send). Range is honoured for GET only, as RFC 9110 defines it; an empty file is always
sent whole (no byte range of it can be written as a Content-Range).

Large files are never read into memory: the 206 body is read in 64 KiB blocks, and the
file is closed when Django closes the response, whether or not the body was read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

BLOCK_SIZE = 64 * 1024
# One range, its unit case-insensitive, whitespace tolerated; ASCII digits only (``\d``
# would take other scripts' digits, which ``int`` reads too).
_SINGLE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE | re.ASCII)
# Positions longer than this many digits are past every file; reading them with ``int``
# could also hit Python's limit on converting very long digit strings (a 500).
_MAX_DIGITS = 18
_BEYOND_ANY_FILE: int = 10**_MAX_DIGITS


class BinaryHandle(Protocol):
    """A file opened ``"rb"`` (a ``FieldFile`` after ``open("rb")``)."""

    def read(self, size: int = ..., /) -> bytes: ...

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` of a file, both included (as in Content-Range)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Unsatisfiable:
    """A readable range that lies outside the file: answered with 416."""


UNSATISFIABLE = Unsatisfiable()


def _position(digits: str) -> int:
    significant = digits.lstrip("0")
    if len(significant) > _MAX_DIGITS:
        return _BEYOND_ANY_FILE
    return int(significant or "0")


def requested_range(header: str, *, size: int) -> ByteRange | Unsatisfiable | None:
    """The one range a Range header asks of a file of ``size`` bytes; None: serve it whole."""
    match = _SINGLE_RANGE.fullmatch(header)
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes, all of them when the file is shorter
        suffix = _position(last)
        if suffix == 0:
            return UNSATISFIABLE
        return ByteRange(start=max(size - suffix, 0), end=size - 1)
    start = _position(first)
    if last and _position(last) < start:
        return None  # an invalid byte-range-spec (RFC 9110 §14.1.1): the header is ignored
    if start >= size:
        return UNSATISFIABLE
    end = _position(last) if last else size - 1
    return ByteRange(start=start, end=min(end, size - 1))


def _honoured_range(request: HttpRequest, *, size: int) -> ByteRange | Unsatisfiable | None:
    header = request.headers.get("Range")
    if header is None or request.method != "GET" or "If-Range" in request.headers:
        return None
    return requested_range(header, size=size)


class _FileWindow:
    """Iterates one range of a file in blocks. Django calls ``close`` (which closes the
    file) when it is done with the response, even when the body was never read; a
    generator's ``finally`` would not run in that case."""

    def __init__(self, handle: BinaryHandle, window: ByteRange) -> None:
        self._handle = handle
        self._window = window

    def __iter__(self) -> Iterator[bytes]:
        self._handle.seek(self._window.start)
        remaining = self._window.length
        while remaining > 0:
            block = self._handle.read(min(BLOCK_SIZE, remaining))
            if not block:  # the file shrank under us: the client sees a short body
                return
            remaining -= len(block)
            yield block

    def close(self) -> None:
        self._handle.close()


def _partial_response(
    handle: BinaryHandle,
    window: ByteRange,
    *,
    size: int,
    content_type: str,
    filename: str,
    as_attachment: bool,
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _FileWindow(handle, window), status=206, content_type=content_type
    )
    response["Content-Range"] = f"bytes {window.start}-{window.end}/{size}"
    response["Content-Length"] = str(window.length)
    if disposition := content_disposition_header(as_attachment, filename):
        response["Content-Disposition"] = disposition
    return response


def _unsatisfiable_response(handle: BinaryHandle, *, size: int) -> HttpResponse:
    handle.close()
    response = HttpResponse(
        f"The requested range is outside the file ({size} bytes).\n",
        status=416,
        content_type="text/plain; charset=utf-8",
    )
    response["Content-Range"] = f"bytes */{size}"
    return response


def ranged_file_response(
    request: HttpRequest,
    handle: BinaryHandle,
    *,
    size: int,
    content_type: str,
    filename: str,
    as_attachment: bool,
) -> HttpResponseBase:
    """The file whole (200), the one byte range the request asks for (206), or 416 for a
    range outside it; takes ownership of ``handle`` and closes it in every case."""
    wanted = _honoured_range(request, size=size)
    response: HttpResponseBase
    if wanted is None:
        response = FileResponse(
            handle, as_attachment=as_attachment, filename=filename, content_type=content_type
        )
    elif isinstance(wanted, Unsatisfiable):
        response = _unsatisfiable_response(handle, size=size)
    else:
        response = _partial_response(
            handle,
            wanted,
            size=size,
            content_type=content_type,
            filename=filename,
            as_attachment=as_attachment,
        )
    response["Accept-Ranges"] = "bytes"
    return response
