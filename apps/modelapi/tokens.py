"""Token estimates, model-independent and cheap: the one home for counting tokens.

No tokenizer of the configured model is at hand (it may be a remote server's), so these
are estimates with a stated purpose each.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")
# Tokenizers split a long word into pieces; a word counts one token per started ten
# characters, so that a 400-character identifier or base64 run is not "one token".
WORD_PIECE_CHARS = 10


def estimate_tokens(text: str) -> int:
    """Words and punctuation marks: close to a WordPiece or BPE count for English prose.

    Sizes chunks against the embedder's input limit and the conversation history against
    ``CHAT_HISTORY_TOKENS``.
    """
    return sum(-(-len(token) // WORD_PIECE_CHARS) for token in _TOKEN.findall(text))


def request_tokens(body: dict[str, Any] | None) -> int:
    """What the rate limiter charges a request before it is sent: a quarter of its JSON
    length (the usual four characters per token), cheap on a 500 kB embedding batch."""
    return 1 if body is None else max(1, len(json.dumps(body)) // 4)
