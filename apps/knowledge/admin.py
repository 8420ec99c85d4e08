from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extract import MIME_ZIP
from apps.knowledge.fetch import parse_target
from apps.knowledge.forms import LanguageCheckMixin
from apps.knowledge.models import Chunk, Document, KnowledgeBase, sha256_hex
from apps.knowledge.queue import enqueue_indexing, enqueue_relexing, request_reindex
from apps.knowledge.uploads import UploadRejected, validate_upload


class ScopedAdminMixin:
    """Staff who are not superusers see and choose only the knowledge bases they own."""

    knowledge_base_path = "knowledge_base"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        if getattr(request.user, "is_superuser", False):
            return queryset
        lookup = f"{self.knowledge_base_path}__in" if self.knowledge_base_path else "pk__in"
        return queryset.filter(**{lookup: KnowledgeBase.objects.manageable_by(request.user)})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "knowledge_base" and not getattr(request.user, "is_superuser", False):
            kwargs["queryset"] = KnowledgeBase.objects.manageable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class KnowledgeBaseAdminForm(LanguageCheckMixin, forms.ModelForm[KnowledgeBase]):
    class Meta:
        model = KnowledgeBase
        fields = [
            "name",
            "description",
            "owner",
            "shared_with_all",
            "groups",
            "editor_groups",
            "language",
            "instructions",
            "passages_to_model",
            "rerank",
            "readers_may_download",
        ]


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(ScopedAdminMixin, admin.ModelAdmin[KnowledgeBase]):
    form = KnowledgeBaseAdminForm
    knowledge_base_path = ""
    list_display = ["name", "owner", "shared_with_all", "embedding_model", "created_at"]
    filter_horizontal = ["groups", "editor_groups"]
    readonly_fields = ["embedding_model", "embedding_dimensions", "created_at"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk}

    def save_model(self, request: HttpRequest, obj: KnowledgeBase, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "language" in form.changed_data:
            enqueue_relexing(knowledge_base_id=obj.pk)
            self.message_user(
                request, f"The text of {obj.name} is being indexed again in its new language."
            )


class DocumentAdminForm(forms.ModelForm[Document]):
    title = forms.CharField(
        max_length=500, required=False, help_text="Leave empty to use the file's name."
    )

    class Meta:
        model = Document
        fields = ["knowledge_base", "title", "source_kind", "file", "text", "source_url"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = self.files.get("file")
        kind = cleaned.get("source_kind")
        if upload is not None:
            data = upload.read()
            upload.seek(0)
            try:
                self.instance.mime_type = validate_upload(data=data, filename=upload.name or "")
            except UploadRejected as exc:
                self.add_error("file", str(exc))
            if self.instance.mime_type == MIME_ZIP:
                self.add_error("file", "Upload archives on the knowledge base's upload page.")
            self.instance.sha256 = sha256_hex(data)
            if not cleaned.get("title"):
                cleaned["title"] = upload.name
        elif kind == Document.SourceKind.FILE and not self.instance.file:
            self.add_error("file", "Choose a file to upload.")
        if kind == Document.SourceKind.TEXT:
            if not cleaned.get("text"):
                self.add_error("text", "Type the document's text.")
            self.instance.mime_type = "text/plain"
        if kind == Document.SourceKind.URL:
            self._clean_url(cleaned)
        return cleaned

    def _clean_url(self, cleaned: dict[str, Any]) -> None:
        """A web page, fetched by the worker with every hop checked (as on the upload page)."""
        url = (cleaned.get("source_url") or "").strip()
        if not url:
            self.add_error("source_url", "Give the page's URL.")
            return
        try:
            parse_target(url)
        except ExtractionError as exc:
            self.add_error("source_url", str(exc))
            return
        self.instance.mime_type = ""
        if not cleaned.get("title"):
            cleaned["title"] = url[:500]


@admin.register(Document)
class DocumentAdmin(ScopedAdminMixin, admin.ModelAdmin[Document]):
    form = DocumentAdminForm
    list_display = ["title", "knowledge_base", "status", "chunk_count", "mime_type", "updated_at"]
    list_filter = ["status", "knowledge_base", "mime_type"]
    search_fields = ["title"]
    readonly_fields = [
        "status",
        "error",
        "mime_type",
        "sha256",
        "chunk_count",
        "attempts",
        "indexed_sha256",
        "indexed_embedding_model",
        "created_at",
        "updated_at",
        "processed_at",
    ]
    actions = ["reindex"]

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> list[str]:
        # Chunks carry their base's id (the permission filter): moving a document would leave
        # its passages readable by the old base's readers. Upload to the other base instead.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "knowledge_base"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: Document, form: Any, change: bool) -> None:
        # The title is part of what is embedded and of the full-text entry of every chunk.
        content_changed = not change or bool(
            {"file", "text", "title", "source_url"} & set(form.changed_data)
        )
        if content_changed:
            obj.reset_for_indexing()
        super().save_model(request, obj, form, change)
        if content_changed:
            enqueue_indexing(document_id=obj.pk)

    @admin.action(description="Re-index selected documents")
    def reindex(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        documents = list(queryset)
        for document in documents:
            request_reindex(document=document)
        self.message_user(
            request, f"{len(documents)} document(s) queued for re-indexing.", messages.SUCCESS
        )


@admin.register(Chunk)
class ChunkAdmin(ScopedAdminMixin, admin.ModelAdmin[Chunk]):
    list_display = ["document", "ordinal", "page", "token_count", "heading"]
    list_filter = ["knowledge_base"]
    search_fields = ["text"]
    exclude = ["embedding"]
    readonly_fields = [
        "document",
        "knowledge_base",
        "ordinal",
        "text",
        "heading",
        "char_start",
        "char_end",
        "page",
        "token_count",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
