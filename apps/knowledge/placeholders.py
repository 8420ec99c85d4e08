"""Numbered placeholders that survive Markdown rendering and sanitising, then become HTML.

A private-use character pair around a number (``\\ue000 12 \\ue001``) passes through the
Markdown renderer and nh3 untouched; afterwards each is replaced by trusted HTML (a
citation marker, a passage anchor). One that ended up inside a tag (a link's address,
possibly percent-encoded) is dropped, never expanded there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote


class Placeholders:
    def __init__(self, open_char: str, close_char: str) -> None:
        self.open, self.close = open_char, close_char
        self._token = re.compile(f"{re.escape(open_char)}(\\d+){re.escape(close_char)}")
        encoded = f"{re.escape(quote(open_char))}\\d+{re.escape(quote(close_char))}"
        self._in_tag = re.compile(
            f"{re.escape(open_char)}\\d+{re.escape(close_char)}|{encoded}", re.IGNORECASE
        )

    def strip(self, text: str) -> str:
        """The text without the pair's characters (input never brings its own)."""
        return text.replace(self.open, "").replace(self.close, "")

    def token(self, number: int) -> str:
        return f"{self.open}{number}{self.close}"

    def expand(self, html: str, replacement: Callable[[int], str]) -> str:
        """Each placeholder outside tags → ``replacement(number)``; inside tags → nothing."""
        html = re.sub(r"<[^>]*>", lambda tag: self._in_tag.sub("", tag.group()), html)
        return self._token.sub(lambda m: replacement(int(m.group(1))), html)
