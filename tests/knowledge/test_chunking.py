from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

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


# --- Long runs: no chunk is ever longer than max_chars, and no text is lost ---


def _non_space(text: str) -> str:
    return "".join(text.split())


def _assert_bounded_and_whole(text: str, max_chars: int, target: int = 200) -> list:
    chunks = chunk_text(
        Extracted(text), target_tokens=target, overlap_tokens=40, max_chars=max_chars
    )
    assert chunks
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert len(chunk.text) <= max_chars
        assert chunk.token_count <= target
    # Every non-space character is in some chunk (overlaps may repeat some).
    assert sum(len(_non_space(c.text)) for c in chunks) >= len(_non_space(text))
    covered = sorted((c.char_start, c.char_end) for c in chunks)
    position = 0
    for start, end in covered:
        assert not _non_space(text[position:start]), "text between chunks was dropped"
        position = max(position, end)
    assert not _non_space(text[position:])
    return chunks


def test_a_three_megabyte_token_without_spaces_is_cut_into_bounded_chunks() -> None:
    chunks = _assert_bounded_and_whole("a" * 3_000_000, max_chars=4000)
    assert len(chunks) >= 3_000_000 // 4000


def test_a_minified_json_line_and_a_base64_blob_are_cut_into_bounded_chunks() -> None:
    import base64
    import json
    import random

    minified = json.dumps(
        [{"id": i, "name": f"item{i}", "tags": ["x", "y"]} for i in range(5000)],
        separators=(",", ":"),
    )
    blob = base64.b64encode(random.Random(7).randbytes(300_000)).decode()
    _assert_bounded_and_whole(minified, max_chars=1000)
    _assert_bounded_and_whole(f"Before the blob.\n\n{blob}\n\nAfter the blob.", max_chars=1000)


def test_whitespace_between_words_counts_against_the_character_bound() -> None:
    text = "start" + " " * 500_000 + "middle" + "\n" * 500_000 + "end"
    chunks = _assert_bounded_and_whole(text, max_chars=1000)
    assert [c.text for c in chunks] == ["start", "middle", "end"]


def test_a_run_of_sentence_marks_alone_is_kept() -> None:
    chunks = _assert_bounded_and_whole("Why?\n\n" + "?!" * 50_000, max_chars=1000)
    assert chunks[0].text.startswith("Why?")


def test_an_overlong_heading_line_is_body_text_not_a_heading() -> None:
    text = "# " + "h" * 50_000 + "\n\nBody text."
    chunks = _assert_bounded_and_whole(text, max_chars=1000)
    assert all(len(c.heading) <= 300 for c in chunks)


def test_a_long_run_scans_in_linear_time() -> None:
    import time

    started = time.perf_counter()
    chunk_text(Extracted(" " * 200_000 + "x" + "\n" + " " * 200_000), max_chars=1000)
    assert time.perf_counter() - started < 2.0, "a regular expression backtracks over the run"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("token.txt", b"x" * 3_000_000),
        ("minified.json.txt", (b'{"k":"' + b"v" * 50 + b'",' + b'"n":12345},') * 20_000),
        (
            "blob.txt",
            b"Attachment dump:\n\n" + __import__("base64").b64encode(b"\x00\xff" * 300_000),
        ),
    ],
)
def test_a_file_of_one_long_run_indexes_through_the_local_provider(
    knowledge_base, name, data
) -> None:
    """Before: the local provider answered 413 ("at most 2048 inputs of 200000 characters")."""
    from apps.knowledge.indexing import index_document
    from apps.knowledge.uploads import add_file_document

    document = add_file_document(knowledge_base=knowledge_base, filename=name, data=data)
    assert index_document(document_id=document.pk).outcome == "indexed", document.error
    document.refresh_from_db()
    assert document.chunk_count == document.chunks.count() > 1
    assert max(len(c.text) for c in document.chunks.all()) <= settings.CHUNK_MAX_CHARS
