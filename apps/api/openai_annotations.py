"""Our Citations as ``message.annotations`` in the model-API family's shape.

Every cited span is a ``document_citation`` (Groq's chat-completions shape) whose
``document_id`` is the passage (chunk) id, or the id of the request's own document it came
from. A passage of a web page adds a ``url_citation`` (OpenAI's chat-completions shape,
``url`` being the page itself), a passage of an uploaded file a ``file_citation`` (the
Responses API's fields, nested the chat-completions way). Both also carry
``document_url``: the passage in its document's page in this app, and for a passage of a
recording ``start_seconds`` and ``end_seconds``: when it is said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from apps.chat.citations import Citation
from apps.knowledge.links import passage_path
from apps.knowledge.models import Document, KnowledgeBase

AbsoluteUrl = Callable[[str], str]


@dataclass(frozen=True)
class AnnotationContext:
    """What turns a Citation into annotations: the request documents' ids, the stored
    documents' kinds, and how to make an absolute link."""

    client_ids: dict[int, str]
    absolute_url: AbsoluteUrl
    user: AbstractBaseUser | AnonymousUser
    kinds: dict[int, str | None]

    def source_kind(self, document_id: int) -> str | None:
        """The stored document's ``source_kind`` (readable documents only, else ``None``)."""
        if document_id not in self.kinds:
            self.kinds[document_id] = (
                Document.objects.filter(
                    pk=document_id, knowledge_base__in=KnowledgeBase.objects.readable_by(self.user)
                )
                .values_list("source_kind", flat=True)
                .first()
            )
        return self.kinds[document_id]


def annotation_context(
    *, user: AbstractBaseUser | AnonymousUser, client_ids: dict[int, str], absolute_url: AbsoluteUrl
) -> AnnotationContext:
    return AnnotationContext(client_ids, absolute_url, user, {})


def _span(citation: Citation) -> dict[str, int]:
    return {"start_index": citation.start, "end_index": citation.end}


def document_link(citation: Citation, absolute_url: AbsoluteUrl) -> str:
    return absolute_url(passage_path(citation.document_id, citation.chunk_id))


def _our_fields(citation: Citation, context: AnnotationContext) -> dict[str, Any]:
    """What our nested citations add to the family's fields: the passage's link in this
    app and, for a recording, its seconds."""
    fields: dict[str, Any] = {"document_url": document_link(citation, context.absolute_url)}
    if citation.start_seconds is not None:
        fields.update(start_seconds=citation.start_seconds, end_seconds=citation.end_seconds)
    return fields


def citation_annotations(citation: Citation, context: AnnotationContext) -> list[dict[str, Any]]:
    """The annotations of one cited span: a ``document_citation``, and a ``url_citation`` or
    ``file_citation`` when the passage comes from a web page or an uploaded file."""
    if citation.chunk_id < 0:
        cited_id = context.client_ids.get(citation.chunk_id, "")
        return [_document_citation(cited_id, citation)]
    annotations = [_document_citation(str(citation.chunk_id), citation)]
    kind = context.source_kind(citation.document_id)
    if kind is None:
        return annotations
    ours = _our_fields(citation, context)
    if citation.url:
        url_citation = {"url": citation.url, "title": citation.title, **_span(citation)}
        annotations.append({"type": "url_citation", "url_citation": {**url_citation, **ours}})
    elif kind == Document.SourceKind.FILE:
        file_citation = {"file_id": str(citation.document_id), "filename": citation.title}
        annotations.append(
            {"type": "file_citation", "file_citation": {**file_citation, **ours, **_span(citation)}}
        )
    return annotations


def _document_citation(document_id: str, citation: Citation) -> dict[str, Any]:
    return {
        "type": "document_citation",
        "document_citation": {"document_id": document_id, **_span(citation)},
    }


def message_annotations(
    citations: Iterable[Citation], context: AnnotationContext
) -> list[dict[str, Any]]:
    return [item for c in citations for item in citation_annotations(c, context)]
