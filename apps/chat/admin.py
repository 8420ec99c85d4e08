"""Answer feedback, listed for staff: read-only, scoped to the bases they manage."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.chat.models import Feedback, Message
from apps.knowledge.models import KnowledgeBase


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin[Feedback]):
    list_display = ["created_at", "rating", "comment", "question", "answer", "user"]
    list_filter = ["rating", "created_at"]
    search_fields = ["comment", "message__content"]
    readonly_fields = ["message", "user", "rating", "comment", "created_at", "updated_at"]
    list_select_related = ["message", "user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Feedback]:
        scoped = super().get_queryset(request)
        if getattr(request.user, "is_superuser", False):
            return scoped
        bases = KnowledgeBase.objects.manageable_by(request.user)
        return scoped.filter(message__conversation__knowledge_bases__in=bases).distinct()

    @admin.display(description="Question")
    def question(self, feedback: Feedback) -> str:
        asked = (
            Message.objects.filter(
                conversation_id=feedback.message.conversation_id,
                role=Message.Role.USER,
                created_at__lte=feedback.message.created_at,
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        return asked.content[:120] if asked else ""

    @admin.display(description="Answer")
    def answer(self, feedback: Feedback) -> str:
        return feedback.message.content[:160]

    # Every staff member sees the feedback of the bases they manage (the queryset scopes it).
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_staff", False))

    def has_view_permission(self, request: HttpRequest, obj: Feedback | None = None) -> bool:
        return bool(getattr(request.user, "is_staff", False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Feedback | None = None) -> bool:
        return False
