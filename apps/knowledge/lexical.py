"""What the lexical index reads of a text, and the languages it can stem.

PostgreSQL's parser keeps a dotted name ("shutil.copytree", "os.path.join", "config.yaml")
as one token, so a question naming ``copytree`` or ``join`` would not match it. Each
dotted name is followed by its parts, so both the whole name and each part are found.

PostgreSQL's parsers split words at spaces and punctuation, so Chinese, Japanese and Korean
text (no spaces) becomes one "word" per run and nothing inside it can be found. Runs of
those scripts are rewritten as overlapping character pairs ("東京都庁" → "東京 京都 都庁"),
the usual n-gram indexing for CJK search, both when a chunk is indexed and when a question
is asked, so any two adjacent characters of a question match. Other text is left as it is.
"""

from __future__ import annotations

import re

from django.db import models

# Han, Hiragana, Katakana (with the prolonged sound mark), Hangul syllables and jamo.
_CJK_RUN = re.compile(
    r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
    r"\u1100-\u11ff\u3130-\u318f\uff66-\uff9f]+"
)


class TextSearchLanguage(models.TextChoices):
    """A knowledge base's text-search configuration (stemming and stop words)."""

    ENGLISH = "english", "English"
    GERMAN = "german", "German"
    FRENCH = "french", "French"
    SPANISH = "spanish", "Spanish"
    ITALIAN = "italian", "Italian"
    PORTUGUESE = "portuguese", "Portuguese"
    DUTCH = "dutch", "Dutch"
    SWEDISH = "swedish", "Swedish"
    DANISH = "danish", "Danish"
    NORWEGIAN = "norwegian", "Norwegian"
    FINNISH = "finnish", "Finnish"
    RUSSIAN = "russian", "Russian"
    SIMPLE = "simple", "Mixed languages (no stemming)"
    # Created by migration 0006 when the server has the unaccent extension.
    SIMPLE_UNACCENT = "qa_simple_unaccent", "Mixed languages, accents ignored"


# Two or more identifier-like parts joined by dots (not a number like 3.14).
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\b")


def with_dotted_parts(match: re.Match[str]) -> str:
    name = match.group(0)
    return f"{name} {' '.join(name.split('.'))}"


def cjk_bigrams(run: str) -> str:
    if len(run) == 1:
        return run
    return " ".join(run[i : i + 2] for i in range(len(run) - 1))


def lexical_text(text: str) -> str:
    """``text`` as the lexical index reads it: dotted names followed by their parts, CJK
    runs as overlapping character pairs."""
    text = _DOTTED.sub(with_dotted_parts, text)
    return _CJK_RUN.sub(lambda match: f" {cjk_bigrams(match.group(0))} ", text)
