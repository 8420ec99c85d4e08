"""A private corner of the site owned by someone else, and probes of what a request reads.

Every text field of the foreign objects carries ``MARK``. Two probes watch a request:

- ``rows_read``: a connection execute wrapper keeps every row the database returns during
  the request (read from the psycopg cursor, which is rewound so Django gets the rows
  unchanged). If any row holds ``MARK``, the request loaded a foreign row.
- ``storage_opens``: every open of a stored file (``FileSystemStorage._open``).

Both probes are checked positively too (the owner's request does show ``MARK`` in the rows,
the owner's download does open the file), so a probe that saw nothing cannot pass by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import connection

from apps.accounts.models import ApiToken
from apps.accounts.tokens import create_token
from apps.chat.models import Conversation, Message
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.sources.models import SiteSource
from tests.knowledge.files import pdf_bytes

MARK = f"FOREIGN{uuid.uuid4().hex[:12]}"


@dataclass
class ForeignWorld:
    owner: User
    knowledge_base: KnowledgeBase
    document: Document
    chunk: Chunk
    conversation: Conversation
    answer: Message
    site_source: SiteSource
    api_token: ApiToken
    pdf_document: Document

    def pk_of(self, target: str) -> int:
        return int(getattr(self, target).pk)


def build_foreign_world() -> ForeignWorld:
    owner = User.objects.create_user("owner", password="owner-password", is_staff=True)
    knowledge_base = KnowledgeBase.objects.create(
        name=f"{MARK} base", description=MARK, owner=owner
    )
    document = Document.objects.create(
        knowledge_base=knowledge_base,
        title=f"{MARK}.txt",
        file=ContentFile(f"{MARK} file body".encode(), name="secret.txt"),
        text=MARK,
        mime_type="text/plain",
        status=Document.Status.READY,
        chunk_count=1,
    )
    chunk = Chunk.objects.create(
        document=document,
        knowledge_base=knowledge_base,
        ordinal=0,
        text=f"{MARK} passage text",
        heading=MARK,
        char_start=0,
        char_end=len(MARK),
        token_count=3,
        embedding=[0.05] * 384,
    )
    chunk.lexemes(title=document.title).save()
    conversation = Conversation.objects.create(user=owner, title=MARK)
    conversation.knowledge_bases.add(knowledge_base)
    Message.objects.create(conversation=conversation, role="user", content=MARK)
    answer = Message.objects.create(
        conversation=conversation,
        role="assistant",
        content=f"{MARK} answer",
        citations=[
            {
                "number": 1,
                "start": 0,
                "end": 5,
                "chunk_id": chunk.pk,
                "document_id": document.pk,
                "title": document.title,
                "page": None,
                "url": "",
                "text": chunk.text,
            }
        ],
    )
    site_source = SiteSource.objects.create(
        knowledge_base=knowledge_base,
        start_url=f"https://example.com/{MARK}/",
        scope=f"https://example.com/{MARK}/",
        max_pages=10,
        max_depth=1,
        every_hours=24,
        last_error=MARK,
    )
    api_token, _ = create_token(owner, f"{MARK} token")
    pdf_document = Document.objects.create(
        knowledge_base=knowledge_base,
        title=f"{MARK}.pdf",
        file=ContentFile(pdf_bytes([f"{MARK} on a page"]), name="secret.pdf"),
        mime_type="application/pdf",
        status=Document.Status.READY,
    )
    return ForeignWorld(
        owner,
        knowledge_base,
        document,
        chunk,
        conversation,
        answer,
        site_source,
        api_token,
        pdf_document,
    )


@dataclass
class Reads:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    unchecked_queries: list[str] = field(default_factory=list)
    opened_files: list[str] = field(default_factory=list)

    @property
    def saw_mark(self) -> bool:
        return any(MARK in repr(row) for row in self.rows)


@contextmanager
def watch_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reads]:
    reads = Reads()

    def keep_rows(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        raw = context["cursor"].cursor
        if isinstance(raw, psycopg.ServerCursor):
            reads.unchecked_queries.append(sql)
        elif raw.description is not None:
            rows = raw.fetchall()
            if rows:  # rewind, so that Django fetches the same rows
                raw.scroll(0, mode="absolute")
            reads.rows.extend(rows)
        return result

    original_open = FileSystemStorage._open

    def recording_open(storage: FileSystemStorage, name: str, mode: str = "rb") -> Any:
        reads.opened_files.append(name)
        return original_open(storage, name, mode)

    monkeypatch.setattr(FileSystemStorage, "_open", recording_open)
    with connection.execute_wrapper(keep_rows):
        yield reads
    monkeypatch.setattr(FileSystemStorage, "_open", original_open)
