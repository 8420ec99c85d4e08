"""What one sync did, for the source's row, the staff page and the command's output."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_NOTES = 20


@dataclass
class SyncReport:
    outcome: str = "done"  # done | cancelled | failed | busy (another sync runs) | skipped
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    disallowed: int = 0  # by robots.txt
    over_limit: int = 0  # pages past max_pages
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # of the source itself (robots, sitemap)

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def error_text(self) -> str:
        lines = [*self.problems, *self.notes]
        if self.failed > len(self.notes):
            lines.append(f"… {self.failed} page(s) failed in all.")
        return "\n".join(lines)[:4000]

    def summary(self) -> str:
        if self.outcome == "busy":
            return "another sync of this source is running; nothing done"
        if self.outcome == "skipped":
            return "not due (or its queued sync was cancelled); nothing done"
        text = (
            f"{self.outcome}: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed, {self.failed} failed"
        )
        if self.disallowed:
            text += f", {self.disallowed} disallowed by robots.txt"
        if self.over_limit:
            text += f", {self.over_limit} over the page limit"
        return text
