"""The request's own ``documents``, searched together with the knowledge bases.

They are not stored (they belong to one request, not to a base): each is chunked like an
indexed document, its passages join the retrieved ones, and the same reranker orders them
all for the question; the best ``RETRIEVAL_TOP_N`` go to the chat model. Their passages
carry negative ids (a stored chunk's id is positive), which map back to the id the client
gave the document (or ``request-<n>``) in the answer's ``document_citation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from apps.chat.answering import AddPassages
from apps.knowledge.chunking import chunk_text
from apps.knowledge.cleaning import clean_line, clean_text
from apps.knowledge.extracted import Extracted
from apps.search.retrieval import Passage, RetrievalResult, rerank_passages

REQUEST_MIME_TYPE = "text/plain"


@dataclass
class RequestDocuments:
    """The request's documents as passages, and which client id each passage stands for."""

    passages: list[Passage] = field(default_factory=list)
    client_ids: dict[int, str] = field(default_factory=dict)  # passage (chunk) id → its id

    def add(self, client_id: str, text: str) -> None:
        text = clean_text(text).strip()
        if not text:
            return
        drafts = chunk_text(
            Extracted(text=text),
            target_tokens=settings.CHUNK_TARGET_TOKENS,
            overlap_tokens=settings.CHUNK_OVERLAP_TOKENS,
            max_chars=settings.CHUNK_MAX_CHARS,
        )
        document_number = -(len({*self.client_ids.values()}) + 1)
        for draft in drafts:
            passage_id = -(len(self.passages) + 1)
            self.client_ids[passage_id] = client_id
            self.passages.append(
                Passage(
                    chunk_id=passage_id,
                    document_id=document_number,
                    document_title=clean_line(client_id, max_chars=200),
                    knowledge_base_id=0,
                    knowledge_base_name="",
                    text=draft.text,
                    heading=draft.heading,
                    page=None,
                    source_url="",
                    mime_type=REQUEST_MIME_TYPE,
                    score=0.0,
                )
            )

    def merged_with_retrieval(self) -> AddPassages:
        """The pipeline hook: rerank the retrieved passages and these together."""

        def add_passages(search_query: str, retrieval: RetrievalResult) -> RetrievalResult:
            if not self.passages:
                return retrieval
            # The request's passages first: if the reranker is down, the fused order keeps
            # what the client sent explicitly ahead of what was found.
            merged = rerank_passages(
                search_query,
                [*self.passages, *retrieval.passages],
                top_n=settings.RETRIEVAL_TOP_N,
            )
            note = " ".join(filter(None, [retrieval.note, merged.note]))
            return RetrievalResult(merged.passages, merged.reranked, note)

        return add_passages


def request_documents(named_texts: list[tuple[str, str]]) -> RequestDocuments:
    documents = RequestDocuments()
    for client_id, text in named_texts:
        documents.add(client_id, text)
    return documents
