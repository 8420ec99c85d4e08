"""``manage.py ingest``: a folder tree (with an archive, hidden files, a bad file) imported,
then imported again after a change."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.knowledge.models import Document
from tests.knowledge.files import docx_bytes, zip_bytes
from tests.knowledge.scans import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """docs/ with nested folders, an archive, hidden entries, and one file of no usable type."""
    root = tmp_path / "docs"
    (root / "policies" / "travel").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "readme.md").write_text("# Team docs\n\nWhere everything lives.")
    (root / "policies" / "leave.docx").write_bytes(docx_bytes(("", "Parental leave is 16 weeks.")))
    (root / "policies" / "travel" / "hotels.txt").write_text("Hotels up to 150 EUR a night.")
    (root / "whiteboard.png").write_bytes(image_bytes(["Ship on Friday"], "PNG"))
    (root / "tool.exe").write_bytes(b"MZ\x90\x00" + b"\x00" * 60)
    archive = zip_bytes({"a.txt": b"Archive member A.", "sub/b.md": b"# B\n\nMember B."})
    (root / "bundle.zip").write_bytes(archive)
    return root


def _ingest(*args: str) -> str:
    out = io.StringIO()
    call_command("ingest", *args, stdout=out)
    return out.getvalue()


def test_a_folder_tree_is_imported_with_progress_and_a_summary(knowledge_base, tree) -> None:
    output = _ingest(str(tree), "--knowledge-base", knowledge_base.name)
    titles = set(Document.objects.values_list("title", flat=True))
    assert titles == {
        "docs/readme.md",
        "docs/policies/leave.docx",
        "docs/policies/travel/hotels.txt",
        "docs/whiteboard.png",
        "docs/bundle.zip/a.txt",
        "docs/bundle.zip/sub/b.md",
    }
    assert "[1/6] docs/bundle.zip ... archive of 2: 2 added" in output
    assert "[4/6] docs/whiteboard.png ... added" in output
    assert (
        "docs/tool.exe ... refused: Unsupported file type: the content is an executable." in output
    )
    assert "  added              6" in output and "  refused            1" in output
    assert "Refused:\n  docs/tool.exe: Unsupported file type" in output
    assert "2 hidden skipped" in output and ".git" not in output
    assert "6 documents queued" in output
    assert set(Document.objects.values_list("status", flat=True)) == {Document.Status.QUEUED}


def test_importing_again_changes_nothing_and_a_changed_file_becomes_a_new_version(
    knowledge_base, tree
) -> None:
    _ingest(str(tree), "--knowledge-base", knowledge_base.name)
    hotels = Document.objects.get(title="docs/policies/travel/hotels.txt")
    again = _ingest(str(tree), "--knowledge-base", knowledge_base.name)
    assert "  added              0" in again and "  unchanged          7" not in again
    assert "  unchanged          6" in again and "queued" not in again

    (tree / "policies" / "travel" / "hotels.txt").write_text("Hotels up to 180 EUR a night.")
    (tree / "copy-of-readme.md").write_text("# Team docs\n\nWhere everything lives.")
    third = _ingest(str(tree), "--knowledge-base", knowledge_base.name)
    assert "docs/policies/travel/hotels.txt ... new version" in third
    assert "docs/copy-of-readme.md ... unchanged: same content as docs/readme.md" in third
    assert "  new versions       1" in third and "1 document queued" in third
    hotels_now = Document.objects.get(title="docs/policies/travel/hotels.txt")
    assert hotels_now.pk == hotels.pk and hotels_now.sha256 != hotels.sha256
    assert Document.objects.count() == 6


def test_ingest_now_indexes_the_waiting_documents_in_this_process(knowledge_base, tmp_path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "bikes.txt").write_text("Bike storage is in basement level -1.")
    (tmp_path / "notes" / "scan.png").write_bytes(image_bytes(["Lunch is at noon"], "PNG"))
    folder = str(tmp_path / "notes")
    assert "2 documents queued" in _ingest(folder, "--knowledge-base", knowledge_base.name)
    # Run again with --ingest-now: unchanged, but still waiting for a worker, so indexed now.
    output = _ingest(folder, "--knowledge-base", knowledge_base.name, "--ingest-now")
    assert "  unchanged          2" in output and "Indexed now: 2 indexed." in output
    assert "[2/2] notes/scan.png ... indexed" in output
    again = _ingest(folder, "--knowledge-base", knowledge_base.name, "--ingest-now")
    assert "Indexed now: nothing was waiting." in again
    scan = Document.objects.get(title="notes/scan.png")
    assert scan.status == Document.Status.READY
    assert scan.chunks.filter(text__contains="Lunch is at noon").exists()


def test_a_single_file_and_oversized_files_are_handled(knowledge_base, tmp_path, settings) -> None:
    (tmp_path / "one.md").write_text("# One\n\nA single file.")
    (tmp_path / "big.txt").write_bytes(b"x" * 2000)
    settings.MAX_UPLOAD_BYTES = 1000
    output = _ingest(
        str(tmp_path / "one.md"), str(tmp_path / "big.txt"), "--knowledge-base", knowledge_base.name
    )
    assert "[1/2] one.md ... added" in output
    assert "big.txt is 2,000 bytes; the limit is 1,000 bytes." in output
    assert list(Document.objects.values_list("title", flat=True)) == ["one.md"]


def test_an_unknown_base_or_path_is_a_usage_error_with_a_sentence(knowledge_base, tmp_path) -> None:
    with pytest.raises(CommandError, match="There is no knowledge base named 'Nope'.*Alice's base"):
        _ingest(str(tmp_path), "--knowledge-base", "Nope")
    with pytest.raises(CommandError, match="No such file or folder: .*missing"):
        _ingest(str(tmp_path / "missing"), "--knowledge-base", knowledge_base.name)
    assert not Document.objects.exists()
