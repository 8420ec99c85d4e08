"""Knowledge bases, their documents, and the chunks that retrieval searches."""

from apps.knowledge.models.chunk import (
    VECTOR_DIMENSIONS,
    Chunk,
    ChunkLexemes,
    LexicalPosting,
    LexicalStats,
)
from apps.knowledge.models.document import (
    Document,
    DocumentQuerySet,
    document_upload_path,
    sha256_hex,
)
from apps.knowledge.models.knowledge_base import (
    AskingProfile,
    KnowledgeBase,
    KnowledgeBaseQuerySet,
    asking_profile,
)

__all__ = [
    "AskingProfile",
    "VECTOR_DIMENSIONS",
    "Chunk",
    "ChunkLexemes",
    "Document",
    "DocumentQuerySet",
    "KnowledgeBase",
    "KnowledgeBaseQuerySet",
    "LexicalPosting",
    "LexicalStats",
    "document_upload_path",
    "asking_profile",
    "sha256_hex",
]
