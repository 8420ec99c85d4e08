from __future__ import annotations

from pathlib import Path

from apps.knowledge.chunking import chunk_text
from apps.knowledge.extract import Extracted, PageSpan, extract_pdf
from apps.modelapi.tokens import estimate_tokens

HANDBOOK = Path(__file__).resolve().parents[2] / "demo" / "documents" / "employee-handbook.pdf"


def _long_section(n: int) -> str:
    return " ".join(f"Sentence {i} describes the widget calibration step." for i in range(n))


def test_chunk_text_is_exactly_the_slice_given_by_its_offsets() -> None:
    text = f"# Guide\n\nIntro line.\n\n## Part one\n\n{_long_section(80)}\n\n## Part two\n\nEnd."
    chunks = chunk_text(Extracted(text), target_tokens=60, overlap_tokens=15)
    assert len(chunks) > 3
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.token_count == estimate_tokens(chunk.text)


def test_chunks_respect_the_token_target_and_keep_their_heading() -> None:
    text = f"# Guide\n\n## Calibration\n\n{_long_section(80)}\n\n## Storage\n\nKeep it dry."
    chunks = chunk_text(Extracted(text), target_tokens=60, overlap_tokens=15)
    assert all(c.token_count <= 60 + 15 for c in chunks)
    assert {c.heading for c in chunks} == {"Calibration", "Storage"}
    assert chunks[-1].text.startswith("## Storage")


def test_consecutive_chunks_of_a_section_overlap() -> None:
    text = _long_section(60)
    chunks = chunk_text(Extracted(text), target_tokens=50, overlap_tokens=20)
    assert len(chunks) >= 3
    for first, second in zip(chunks, chunks[1:], strict=False):
        assert second.char_start < first.char_end, "no overlap between neighbours"
        assert second.char_start > first.char_start, "a chunk repeated its neighbour"


def test_chunks_never_cross_a_page_and_carry_its_number() -> None:
    page_one, page_two = _long_section(10), "Second page text about storage."
    text = page_one + "\n\n" + page_two
    pages = [PageSpan(1, 0, len(page_one)), PageSpan(2, len(page_one) + 2, len(text))]
    chunks = chunk_text(Extracted(text, pages), target_tokens=500, overlap_tokens=0)
    assert [(c.page, c.text) for c in chunks] == [(1, page_one), (2, page_two)]


def test_pdf_chunks_keep_page_numbers_and_offsets() -> None:
    extracted = extract_pdf(HANDBOOK.read_bytes())
    chunks = chunk_text(extracted, target_tokens=200, overlap_tokens=40)
    laptop = [c for c in chunks if "replaced every 36 months" in c.text]
    leave = [c for c in chunks if "Parental leave is 20 weeks" in c.text]
    assert laptop and {c.page for c in laptop} == {2}
    assert leave and {c.page for c in leave} == {3}
    for chunk in chunks:
        assert extracted.text[chunk.char_start : chunk.char_end] == chunk.text


def test_empty_text_gives_no_chunks() -> None:
    assert chunk_text(Extracted(""), target_tokens=50, overlap_tokens=10) == []
