"""The throwaway knowledge base an evaluation searches, built through the normal pipeline.

Each corpus entry becomes one text document (title = the entry's title, body = its text),
created the way the admin creates a typed-text document, then indexed by the real
``index_document``: extraction in the sandboxed child, chunking, embedding over HTTP
through the configured server, storing. The base is named after the data set and the
hash of its corpus, so a kept base is found and reused instead of embedded again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import connection

from apps.evaluation.beir import BeirDataset, CorpusEntry
from apps.evaluation.errors import EvaluationError
from apps.evaluation.progress import Reporter
from apps.knowledge.indexing import index_document
from apps.knowledge.models import Document, KnowledgeBase, sha256_hex
from apps.modelapi.client import embeddings_endpoint

EVALUATION_USER = "evaluation"


@dataclass(frozen=True)
class PreparedBase:
    knowledge_base: KnowledgeBase
    beir_ids: dict[int, str]  # document pk → the data set's document id
    reused: bool
    ingested_documents: int
    ingest_seconds: float


def base_name(dataset: BeirDataset) -> str:
    return f"evaluation {dataset.name} {dataset.corpus_sha256[:12]}"


def document_body(entry: CorpusEntry) -> str:
    # An entry with no text is still findable by its title (an empty document would fail).
    return entry.text if entry.text.strip() else entry.title


def evaluation_owner() -> User:
    """A user that cannot sign in: the throwaway bases are private to it."""
    owner, created = User.objects.get_or_create(
        username=EVALUATION_USER, defaults={"is_active": False}
    )
    if created:
        owner.set_unusable_password()
        owner.save(update_fields=["password"])
    return owner


def _create_documents(knowledge_base: KnowledgeBase, corpus: Sequence[CorpusEntry]) -> None:
    """Queued text documents in corpus order (as the admin's "Text" kind creates them)."""
    Document.objects.bulk_create(
        (
            Document(
                knowledge_base=knowledge_base,
                title=(entry.title or entry.doc_id)[:500],
                source_kind=Document.SourceKind.TEXT,
                text=document_body(entry),
                mime_type="text/plain",
                sha256=sha256_hex(document_body(entry).encode("utf-8")),
            )
            for entry in corpus
        ),
        batch_size=1000,
    )


def _documents_match(knowledge_base: KnowledgeBase, dataset: BeirDataset) -> bool:
    """The kept base holds exactly this corpus, in order, embedded with the current model."""
    if knowledge_base.embedding_model not in ("", embeddings_endpoint().model):
        return False
    stored = list(knowledge_base.documents.order_by("pk").values_list("sha256", flat=True))
    expected = [sha256_hex(document_body(e).encode("utf-8")) for e in dataset.corpus]
    return stored == expected


def _find_or_create_base(dataset: BeirDataset) -> tuple[KnowledgeBase, bool]:
    name = base_name(dataset)
    existing = KnowledgeBase.objects.filter(name=name).first()
    if existing is not None and _documents_match(existing, dataset):
        return existing, True
    if existing is not None:
        existing.delete()
    knowledge_base = KnowledgeBase.objects.create(
        name=name,
        owner=evaluation_owner(),
        description=f"Throwaway evaluation base for {dataset.path}.",
    )
    _create_documents(knowledge_base, dataset.corpus)
    return knowledge_base, False


def _ingest_inline(document_ids: list[int], report: Callable[[str], None]) -> None:
    for document_id in document_ids:
        report(index_document(document_id=document_id).outcome)


def _ingest_threads(document_ids: list[int], workers: int, report: Callable[[str], None]) -> None:
    """Several documents at once: one is extracted or stored while another is embedded."""
    pending = iter(document_ids)
    lock = threading.Lock()

    def work() -> None:
        try:
            while True:
                with lock:
                    document_id = next(pending, None)
                if document_id is None:
                    return
                outcome = index_document(document_id=document_id).outcome
                with lock:
                    report(outcome)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=work, name=f"evaluate-ingest-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def ingest_pending(
    knowledge_base: KnowledgeBase, *, workers: int, progress: Reporter
) -> tuple[int, float]:
    """Index every document not ready yet; returns (documents indexed, seconds)."""
    document_ids = list(
        knowledge_base.documents.exclude(status=Document.Status.READY)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    bar = progress.bar("indexing", len(document_ids), "documents")

    def report(outcome: str) -> None:
        outcomes[outcome] += 1
        bar.advance()

    if workers > 1 and len(document_ids) > 1:
        _ingest_threads(document_ids, workers, report)
    else:
        _ingest_inline(document_ids, report)
    seconds = time.perf_counter() - started
    failed = {k: v for k, v in outcomes.items() if k not in ("indexed", "unchanged")}
    if failed:
        example = (
            knowledge_base.documents.exclude(status=Document.Status.READY)
            .values_list("error", flat=True)
            .first()
        )
        raise EvaluationError(f"documents not indexed: {failed}; e.g. {example!r}")
    return len(document_ids), seconds


def prepare_base(dataset: BeirDataset, *, workers: int, progress: Reporter) -> PreparedBase:
    """The indexed base for ``dataset``: a kept one when it matches, else built now."""
    knowledge_base, reused = _find_or_create_base(dataset)
    progress.line(
        f"{'reusing' if reused else 'created'} knowledge base {knowledge_base.name!r} "
        f"(id {knowledge_base.pk})"
    )
    ingested, seconds = ingest_pending(knowledge_base, workers=workers, progress=progress)
    knowledge_base.refresh_from_db()
    document_ids = knowledge_base.documents.order_by("pk").values_list("pk", flat=True)
    beir_ids = {pk: entry.doc_id for pk, entry in zip(document_ids, dataset.corpus, strict=True)}
    return PreparedBase(knowledge_base, beir_ids, reused, ingested, seconds)


def delete_base(knowledge_base: KnowledgeBase) -> None:
    """Documents and chunks go with the base (text documents have no stored file)."""
    KnowledgeBase.objects.filter(pk=knowledge_base.pk).delete()
