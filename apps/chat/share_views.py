"""Sharing a conversation as a read-only link, and exporting it as Markdown."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.chat.access import withhold_unreadable_sources
from apps.chat.export import conversation_markdown, export_filename
from apps.chat.models import Conversation, Message
from apps.chat.sharing import is_share_token, open_shared, start_sharing, stop_sharing
from apps.chat.views import own_conversation


def _shared(token: str) -> Conversation:
    if not is_share_token(token):
        raise Http404("No such shared conversation.")
    return get_object_or_404(Conversation.objects.select_related("user"), share_token=token)


def _markdown_response(
    request: HttpRequest,
    conversation: Conversation,
    chat_messages: list[Message],
    title: str | None = None,
) -> HttpResponse:
    text = conversation_markdown(
        conversation, chat_messages, absolute=request.build_absolute_uri, title=title
    )
    name = export_filename(conversation) if title is None else "shared-conversation.md"
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def share_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request, pk)
    start_sharing(conversation)
    messages.success(
        request,
        "Anyone signed in who may read these knowledge bases can open the link; "
        "answers drawing on bases they may not read are withheld.",
    )
    return redirect("chat:conversation", pk=pk)


@login_required
@require_POST
def unshare_view(request: HttpRequest, pk: int) -> HttpResponse:
    stop_sharing(own_conversation(request, pk))
    messages.success(request, "The link no longer opens this conversation.")
    return redirect("chat:conversation", pk=pk)


@login_required
def export_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request, pk)
    chat_messages = list(conversation.messages.all())
    withhold_unreadable_sources(request.user, chat_messages)
    return _markdown_response(request, conversation, chat_messages)


@login_required
def shared_view(request: HttpRequest, token: str) -> HttpResponse:
    conversation = _shared(token)
    if conversation.user_id == request.user.pk:
        return redirect("chat:conversation", pk=conversation.pk)
    shared = open_shared(request.user, conversation)
    if shared is None:
        return render(request, "chat/share_refused.html", status=403)
    return render(
        request,
        "chat/shared.html",
        {"shared": shared, "conversation": conversation, "chat_messages": shared.messages},
    )


@login_required
def shared_export_view(request: HttpRequest, token: str) -> HttpResponse:
    conversation = _shared(token)
    shared = open_shared(request.user, conversation)
    if shared is None:
        return render(request, "chat/share_refused.html", status=403)
    return _markdown_response(request, conversation, shared.messages, title=shared.title)
