"""Optical character recognition with Tesseract, for scans, photos and PDF pages without text.

Tesseract runs as its command-line program (``tesseract stdin stdout``), one process per page,
called from the extraction child: it inherits that child's address-space limit, and each call
gets what is left of one time budget per document. The CLI rather than pytesseract: the image
goes through a pipe (no temporary files), and the timeout, environment and error text stay in
our hands; pytesseract would only wrap the same program.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from PIL import Image

from apps.knowledge.errors import ExtractionError

OCR_MISSING = (
    "OCR needs Tesseract, which is not installed here: install Debian's tesseract-ocr and its "
    "language data (apt-get install tesseract-ocr tesseract-ocr-eng; `make run` does it when "
    "run as root), or point OCR_TESSERACT_CMD at the program."
)
# One OpenMP thread: the extraction child does one page at a time on a shared machine, and
# every further thread would reserve address space under the child's memory limit.
_TESSERACT_ENV = {"OMP_THREAD_LIMIT": "1"}
_LANGUAGES = re.compile(r"[A-Za-z_]+(\+[A-Za-z_]+)*")


@dataclass(frozen=True)
class OcrOptions:
    """The OCR settings (``OCR_*``), passed to the extraction child that has no settings."""

    languages: str = "eng"
    dpi: int = 300
    max_pages: int = 100
    max_pixels: int = 50_000_000
    timeout_seconds: float = 600.0
    tesseract_cmd: str = "tesseract"


def find_tesseract(command: str) -> str:
    """The program's full path, or the sentence that says how to install it."""
    path = shutil.which(command)
    if path is None:
        raise ExtractionError(OCR_MISSING)
    return path


@functools.lru_cache(maxsize=8)
def installed_languages(path: str) -> frozenset[str]:
    """The language data Tesseract has (``tesseract --list-langs``, the first line a header)."""
    try:
        result = subprocess.run(
            [path, "--list-langs"], capture_output=True, timeout=30, env=_TESSERACT_ENV
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ExtractionError(f"{OCR_MISSING} ({exc})") from exc
    lines = result.stdout.decode("utf-8", "replace").splitlines()[1:]
    return frozenset(line.strip() for line in lines if line.strip())


def check_languages(path: str, languages: str) -> None:
    """Every language of ``OCR_LANGUAGES`` must have its data installed."""
    if not _LANGUAGES.fullmatch(languages):
        raise ExtractionError(
            f"OCR_LANGUAGES is {languages!r}; it takes Tesseract language codes joined by "
            "'+', such as 'eng' or 'eng+deu'."
        )
    missing = [code for code in languages.split("+") if code not in installed_languages(path)]
    if missing:
        packages = " ".join(f"tesseract-ocr-{code.lower().replace('_', '-')}" for code in missing)
        raise ExtractionError(
            f"OCR language data for {', '.join(missing)} is not installed: install Debian's "
            f"{packages}, or change OCR_LANGUAGES (now {languages!r})."
        )


def prepare_for_ocr(image: Image.Image) -> Image.Image:
    """Grey levels for Tesseract; transparent parts become white paper, not black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return image.convert("L")


def clean_ocr_text(text: str) -> str:
    """Tesseract's page text: lines kept, runs of blank lines and the form feed dropped."""
    text = text.replace("\f", "\n").replace("\r", "").replace("\x00", "")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


class TesseractReader:
    """One document's OCR: the program found, its languages checked, one time budget, and
    at most ``max_pages`` pages read."""

    def __init__(self, options: OcrOptions) -> None:
        self.options = options
        self.path = find_tesseract(options.tesseract_cmd)
        check_languages(self.path, options.languages)
        self.deadline = time.monotonic() + options.timeout_seconds
        self.pages_read = 0

    def read(self, image: Image.Image, *, dpi: int | None, label: str) -> str:
        """The text Tesseract reads on one page image (``label`` names it in errors)."""
        if self.pages_read >= self.options.max_pages:
            raise ExtractionError(
                f"OCR reads at most {self.options.max_pages} pages per document "
                "(OCR_MAX_PAGES); this one has more."
            )
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._too_slow(label)
        command = [self.path, "stdin", "stdout", "-l", self.options.languages]
        if dpi:
            command += ["--dpi", str(dpi)]
        try:
            result = subprocess.run(
                command,
                input=_pnm_bytes(prepare_for_ocr(image)),
                capture_output=True,
                timeout=remaining,
                env=_TESSERACT_ENV,
            )
        except subprocess.TimeoutExpired as exc:
            raise self._too_slow(label) from exc
        except OSError as exc:
            raise ExtractionError(f"{OCR_MISSING} ({exc})") from exc
        if result.returncode != 0:
            raise ExtractionError(f"Tesseract could not read {label}: {_last_line(result.stderr)}")
        self.pages_read += 1
        return clean_ocr_text(result.stdout.decode("utf-8", "replace"))

    def _too_slow(self, label: str) -> ExtractionError:
        return ExtractionError(
            f"OCR of this document took longer than {self.options.timeout_seconds:.0f} s "
            f"(OCR_TIMEOUT_SECONDS) and was stopped at {label}."
        )


def _pnm_bytes(image: Image.Image) -> bytes:
    # PGM: uncompressed, so no time spent compressing what Tesseract decodes at once.
    out = io.BytesIO()
    image.save(out, "PPM")
    return out.getvalue()


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    meaningful = [line for line in lines if line]
    return meaningful[-1][:300] if meaningful else "it stopped without saying why"
