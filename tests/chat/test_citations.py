from __future__ import annotations

from dataclasses import replace

import pytest

from apps.chat.citations import (
    MARKER,
    citations_from_markers,
    normalise_annotations,
    render_answer,
    unique_sources,
)
from apps.modelapi.schemas import Annotation
from apps.search.retrieval import Passage


def _passage(chunk_id: int, title: str, text: str, page: int | None = None) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        document_id=chunk_id * 10,
        document_title=title,
        knowledge_base_id=1,
        knowledge_base_name="kb",
        text=text,
        heading="",
        page=page,
        source_url="",
        mime_type="text/plain",
        score=0.5,
    )


def _annotation(doc_id: str, start: int, end: int) -> Annotation:
    return Annotation.model_validate(
        {
            "type": "document_citation",
            "document_citation": {"document_id": doc_id, "start_index": start, "end_index": end},
        }
    )


PASSAGES = {
    "1": _passage(7, "Travel policy", "The hotel cap is 180 euros."),
    "2": _passage(9, "Handbook", "Laptops are replaced every 36 months.", page=2),
}
ANSWER = "Hotels cost at most 180 euros. Laptops last 36 months."


def test_annotation_spans_map_to_the_passages_their_ids_name() -> None:
    annotations = [_annotation("2", 31, 54), _annotation("1", 0, 30)]
    citations = normalise_annotations(ANSWER, annotations, PASSAGES)
    assert [(c.number, c.chunk_id, ANSWER[c.start : c.end]) for c in citations] == [
        (1, 7, "Hotels cost at most 180 euros."),
        (2, 9, "Laptops last 36 months."),
    ]
    assert citations[1].page == 2 and citations[1].title == "Handbook"


def test_annotations_naming_unknown_documents_are_dropped() -> None:
    annotations = [_annotation("99", 0, 10), _annotation("chunk-7", 0, 10), _annotation("1", 0, 30)]
    citations = normalise_annotations(ANSWER, annotations, PASSAGES)
    assert [c.chunk_id for c in citations] == [7]


def test_out_of_range_spans_are_clamped_into_the_answer() -> None:
    citations = normalise_annotations(ANSWER, [_annotation("1", 20, 5000)], PASSAGES)
    assert (citations[0].start, citations[0].end) == (20, len(ANSWER))


def test_the_same_passage_reuses_its_number() -> None:
    annotations = [_annotation("1", 0, 10), _annotation("2", 31, 54), _annotation("1", 11, 30)]
    citations = normalise_annotations(ANSWER, annotations, PASSAGES)
    assert [c.number for c in citations] == [1, 1, 2]
    assert [s["number"] for s in unique_sources([c.as_json() for c in citations])] == [1, 2]


def test_bracket_markers_become_citations_with_spans_in_the_cleaned_answer() -> None:
    content = "Hotels cost at most 180 euros [1]. Laptops last 36 months.[2][7] Done."
    clean, citations = citations_from_markers(content, PASSAGES)
    assert clean == "Hotels cost at most 180 euros. Laptops last 36 months. Done."
    assert [(c.number, c.chunk_id, clean[c.start : c.end]) for c in citations] == [
        (1, 7, "Hotels cost at most 180 euros"),
        (2, 9, "Laptops last 36 months."),
    ]


def test_a_run_of_markers_cites_every_passage_for_the_same_span() -> None:
    clean, citations = citations_from_markers("Alpha is one [1][2]. Beta [1] [2].", PASSAGES)
    assert clean == "Alpha is one. Beta."
    assert [(c.chunk_id, clean[c.start : c.end]) for c in citations] == [
        (7, "Alpha is one"),
        (9, "Alpha is one"),
        (7, "Beta"),
        (9, "Beta"),
    ]


def test_brackets_that_name_no_passage_stay_in_the_text() -> None:
    clean, citations = citations_from_markers("Use arr[0] here [1].", PASSAGES)
    assert clean == "Use arr[0] here." and [c.chunk_id for c in citations] == [7]


PRICING = replace(
    _passage(9, "Pricing page", "Team plan: 4 GB."), source_url="https://example.com/pricing"
)
FILE_AND_URL_PASSAGES = {
    "1": _passage(7, "Travel policy", "The hotel cap is 180 euros."),
    "2": PRICING,
}


def test_file_and_url_citations_resolve_to_our_passages_only() -> None:
    passages = FILE_AND_URL_PASSAGES
    annotations = [
        {"type": "file_citation", "file_id": "70", "index": 10, "filename": "x"},
        {
            "type": "url_citation",
            "url": "https://example.com/pricing",
            "title": "Pricing",
            "start_index": 11,
            "end_index": 30,
        },
        {
            "type": "url_citation",
            "url_citation": {"url": "https://evil.example/phish", "start_index": 0, "end_index": 5},
        },
        {
            "type": "function_citation",
            "function_citation": {"tool_call_id": "t", "start_index": 0, "end_index": 4},
        },
    ]
    citations = normalise_annotations(
        ANSWER, [Annotation.model_validate(a) for a in annotations], passages
    )
    assert [(c.chunk_id, c.start, c.end) for c in citations] == [(7, 10, 10), (9, 11, 30)]
    assert citations[1].url == "https://example.com/pricing"


def test_each_citation_keeps_the_kind_of_its_annotation() -> None:
    annotations = [
        _annotation("1", 0, 30),
        Annotation.model_validate({"type": "file_citation", "file_id": "2", "index": 40}),
        Annotation.model_validate(
            {
                "type": "url_citation",
                "url_citation": {
                    "url": "https://example.com/pricing",
                    "start_index": 31,
                    "end_index": 54,
                },
            }
        ),
    ]
    citations = normalise_annotations(ANSWER, annotations, FILE_AND_URL_PASSAGES)
    assert [(c.kind, c.chunk_id) for c in citations] == [
        ("document_citation", 7),
        ("url_citation", 9),
        ("file_citation", 9),
    ]
    assert [c.as_json()["kind"] for c in citations] == [c.kind for c in citations]


def test_prompt_mode_markers_keep_their_own_kind() -> None:
    _, citations = citations_from_markers("Hotels cost at most 180 euros [1].", PASSAGES)
    assert [c.kind for c in citations] == [MARKER]


def test_rendered_answer_escapes_model_text_and_places_markers_after_spans() -> None:
    content = "<script>alert(1)</script> Cap is 180 euros."
    citation = normalise_annotations(content, [_annotation("1", 26, 43)], PASSAGES)[0]
    html = render_answer(content, [citation.as_json()], prefix="cite-5")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert html.strip().endswith(
        'data-preview="cite-5-1" aria-label="Source 1: Travel policy">1</a></p>'
    )
    assert 'Cap is 180 euros.<a class="cite-marker" href="/documents/' in html


def test_a_marker_whose_span_ends_inside_a_link_address_goes_after_the_link() -> None:
    url = "https://example.com/guide"
    content = f"See [the guide]({url}) now."
    inside = content.index("example")
    citation = {"number": 1, "start": 0, "end": inside, "chunk_id": 3, "document_id": 4,
                "title": "guide.md", "url": url}  # fmt: skip
    html = str(render_answer(content, [citation], prefix="cite-9"))
    assert f'href="{url}"' in html and html.count("cite-marker") == 1
    assert html.index("the guide</a>") < html.index("cite-marker")
    assert "\ue000" not in html and "%EE%80%80" not in html.upper()


@pytest.mark.parametrize(
    "content",
    [
        "See [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) now.",
        'See [Foo](https://ex.com/a "The title") now.',
    ],
)
def test_a_marker_inside_an_address_with_parentheses_or_a_title_goes_after_the_link(
    content: str,
) -> None:
    inside = content.index("/a") if "/a" in content else content.index("(bar")
    citation = {"number": 1, "start": 0, "end": inside + 2, "chunk_id": 3, "document_id": 4,
                "title": "guide.md", "url": ""}  # fmt: skip
    html = str(render_answer(content, [citation], prefix="cite-9"))
    assert html.count("cite-marker") == 1 and html.index("Foo</a>") < html.index("cite-marker")
