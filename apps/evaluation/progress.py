"""What an evaluation says while it runs: lines, and progress bars for the long phases.

On a terminal a bar is redrawn in place ("\r"); in a log (CI, a pipe) it is written as a
line at every tenth, so a log shows that the run is alive without thousands of lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

BAR_CELLS = 24


def bar_text(label: str, done: int, total: int, elapsed: float, unit: str) -> str:
    """``label ██████░░░ 1,200/5,183 documents · 95 s · about 315 s left``."""
    share = done / total if total else 1.0
    filled = round(BAR_CELLS * share)
    text = f"{label} {'█' * filled}{'░' * (BAR_CELLS - filled)} {done:,}/{total:,} {unit}"
    text += f" · {elapsed:.0f} s"
    if 0 < done < total:
        text += f" · about {elapsed / done * (total - done):.0f} s left"
    return text


@dataclass
class ProgressBar:
    write: Callable[[str], None]  # raw text, no newline added
    tty: bool
    label: str
    total: int
    unit: str
    done: int = 0
    started: float = field(default_factory=time.perf_counter)
    _shown_tenth: int = -1

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        text = bar_text(
            self.label, self.done, self.total, time.perf_counter() - self.started, self.unit
        )
        finished = self.done >= self.total
        if self.tty:
            self.write("\r" + text + ("\n" if finished else ""))
            return
        tenth = (10 * self.done) // max(self.total, 1)
        if tenth != self._shown_tenth and (tenth > self._shown_tenth or finished):
            self._shown_tenth = tenth
            self.write(text + "\n")


@dataclass(frozen=True)
class Reporter:
    """Where progress goes: ``line`` for messages, ``bar`` for a phase with a known size."""

    write: Callable[[str], None] = lambda text: None
    tty: bool = False

    def line(self, message: str) -> None:
        self.write(message + "\n")

    def bar(self, label: str, total: int, unit: str) -> ProgressBar:
        return ProgressBar(self.write, self.tty, label, total, unit)
