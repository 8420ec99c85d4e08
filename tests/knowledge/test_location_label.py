"""The words that place a passage: heading path, page or slide, and when a recording says it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.knowledge.links import location_label
from apps.knowledge.templatetags.knowledge_links import location


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.0, "at 0:00"), (7.9, "at 0:07"), (754.2, "at 12:34"), (3723.0, "at 1:02:03")],
)
def test_a_passage_of_a_recording_is_placed_by_when_it_is_said(seconds: float, said: str) -> None:
    assert location_label(start_seconds=seconds) == said
    assert location_label(section="Budget", start_seconds=seconds) == f"Budget · {said}"


def test_a_text_passage_says_no_time() -> None:
    assert location_label(section="Travel › Hotels", page=3) == "Travel › Hotels · page 3"
    assert location_label(page=2, page_kind="slide") == "slide 2"


def test_the_location_filter_takes_the_seconds_from_a_dict_or_an_object() -> None:
    stored = {"section": "", "page": None, "start_seconds": 754.2}
    passage = SimpleNamespace(section="Budget", page=None, page_kind="page", start_seconds=7.0)
    assert location(stored) == "at 12:34"
    assert location(passage) == "Budget · at 0:07"


@pytest.mark.parametrize("stored", [None, "12", True, float("nan"), float("inf")])
def test_a_stored_time_that_is_not_a_number_says_no_time(stored: object) -> None:
    assert location({"page": 4, "start_seconds": stored}) == "page 4"


def test_a_stored_time_before_the_start_is_the_start() -> None:
    assert location({"start_seconds": -0.4}) == "at 0:00"
