"""The viewer of a recording: a player that starts at the cited second, the transcript
line by line with its times and the cited lines marked, and the original served in byte
ranges of its own type so the player can seek (or no player where originals are kept
from readers)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.uploads import add_file_document
from tests.speech import Speech, encoded, speech

pytestmark = pytest.mark.django_db

SENTENCES = [
    "Welcome to the weekly planning meeting.",
    "The office in Lisbon opens in March.",
]


@pytest.fixture(scope="module")
def meeting() -> Speech:
    return speech(SENTENCES, gap_seconds=2.0)


@pytest.fixture
def recording(alice, meeting, settings) -> Document:
    settings.CHUNK_TARGET_TOKENS = 12
    settings.CHUNK_OVERLAP_TOKENS = 0
    base = KnowledgeBase.objects.create(name="Meetings", owner=alice, shared_with_all=True)
    document = add_file_document(
        knowledge_base=base, filename="weekly-sync.mp3", data=encoded(meeting.wav, "mp3")
    )
    index_document(document_id=document.pk)
    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.error
    return document


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_viewer_plays_from_the_cited_second_beside_the_transcript(
    bob, recording, meeting
) -> None:
    lisbon = next(c for c in recording.chunks.all() if "lisbon" in c.text.lower())
    url = reverse("knowledge:document", args=[recording.pk])
    html = _as(bob).get(url, {"passage": lisbon.pk}).content.decode()

    assert '<audio class="player" controls preload="metadata" data-player' in html
    assert f'data-start="{lisbon.start_seconds:.2f}"' in html
    assert reverse("knowledge:document_file", args=[recording.pk]) in html
    # Each line with its time; the cited line marked, and its passage's anchor on it.
    assert html.count('<li data-start="') == len(recording.content_times)
    cited = html[html.index('class="cited-line"') :]
    assert "Lisbon" in cited[: cited.index("</li>")]
    assert f'id="chunk-{lisbon.pk}"' in cited[: cited.index("</li>")]
    assert "0:0" in cited[: cited.index("</li>")]  # its time, as a clock
    assert html.count('class="cited-line"') == 1
    assert "Cited passage: at 0:0" in html


def test_the_original_recording_is_served_in_ranges_of_its_own_type(bob, recording) -> None:
    url = reverse("knowledge:document_file", args=[recording.pk])
    response = _as(bob).get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Content-Range"].startswith("bytes 0-99/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(b"".join(response.streaming_content)) == 100


def test_no_player_where_originals_are_kept_from_readers_but_the_transcript_shows(
    bob, recording
) -> None:
    base = recording.knowledge_base
    base.readers_may_download = False
    base.save()
    html = _as(bob).get(reverse("knowledge:document", args=[recording.pk])).content.decode()
    assert "data-player" not in html.replace("data-player-error", "")
    assert "data-no-player" in html and "Lisbon" in html
