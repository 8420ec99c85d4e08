from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.chat.answering import ask
from apps.chat.forms import AskForm
from apps.chat.models import Conversation, Message
from apps.chat.streaming import stream_ask
from apps.knowledge.models import Document
from apps.modelapi.errors import ModelApiError
from apps.search.permissions import readable_knowledge_base_ids, readable_knowledge_bases

WITHHELD = "This answer is withheld: some of its sources are no longer shared with you."


def _signed_in_user(request: HttpRequest) -> User:
    """The user of a ``login_required`` view."""
    assert isinstance(request.user, User)
    return request.user


def withhold_unreadable_sources(request: HttpRequest, messages: list[Message]) -> None:
    """Answers whose passages the user may no longer read are shown withheld.

    Access applies at once, also to what was answered before: the answer text quotes
    its sources, so it is withheld whole, not only its citations.
    """
    document_ids = {
        int(item["document_id"])
        for message in messages
        for item in [*message.citation_list, *(message.retrieved or [])]
        if item.get("document_id") is not None
    }
    readable = set(
        Document.objects.filter(
            pk__in=document_ids, knowledge_base__in=readable_knowledge_bases(request.user)
        ).values_list("pk", flat=True)
    )
    for message in messages:
        used = {
            int(item["document_id"])
            for item in [*message.citation_list, *(message.retrieved or [])]
            if item.get("document_id") is not None
        }
        if used - readable:
            message.content = WITHHELD
            message.citations = []
            message.retrieved = []


def _selected_ids(request: HttpRequest, form: AskForm) -> list[int]:
    chosen = form.cleaned_data.get("knowledge_base")
    requested = [chosen.pk] if chosen is not None else None
    return readable_knowledge_base_ids(request.user, requested=requested)


@login_required
def ask_view(request: HttpRequest) -> HttpResponse:
    knowledge_bases = readable_knowledge_bases(request.user)
    form = AskForm(request.POST or None, knowledge_bases=knowledge_bases)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = ask(
                user=_signed_in_user(request),
                question=form.cleaned_data["question"],
                knowledge_base_ids=_selected_ids(request, form),
            )
        except ModelApiError as exc:
            form.add_error(None, exc.user_message)
        else:
            return redirect("chat:conversation", pk=outcome.conversation.pk)
    return render(
        request,
        "chat/ask.html",
        {
            "form": form,
            "knowledge_bases": knowledge_bases,
            "conversations": Conversation.objects.filter(user=_signed_in_user(request))[:30],
        },
    )


@login_required
@require_POST
def ask_stream_view(request: HttpRequest) -> HttpResponseBase:
    """The answer as Server-Sent Events (the page's script); the plain POST stays for no-JS."""
    user = _signed_in_user(request)
    form = AskForm(request.POST, knowledge_bases=readable_knowledge_bases(user))
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    conversation = None
    if request.POST.get("conversation"):
        conversation = get_object_or_404(
            Conversation, pk=request.POST.get("conversation"), user=user
        )
    events = stream_ask(
        user=user,
        question=form.cleaned_data["question"],
        knowledge_base_ids=_selected_ids(request, form),
        conversation=conversation,
    )
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@login_required
def conversation_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = get_object_or_404(Conversation, pk=pk, user=_signed_in_user(request))
    knowledge_bases = readable_knowledge_bases(request.user)
    form = AskForm(request.POST or None, knowledge_bases=knowledge_bases)
    if request.method == "POST" and form.is_valid():
        try:
            ask(
                user=_signed_in_user(request),
                question=form.cleaned_data["question"],
                knowledge_base_ids=_selected_ids(request, form),
                conversation=conversation,
            )
        except ModelApiError as exc:
            form.add_error(None, exc.user_message)
        else:
            return redirect("chat:conversation", pk=conversation.pk)
    chat_messages = list(conversation.messages.all())
    withhold_unreadable_sources(request, chat_messages)
    return render(
        request,
        "chat/conversation.html",
        {
            "conversation": conversation,
            "chat_messages": chat_messages,
            "form": form,
            "conversations": Conversation.objects.filter(user=_signed_in_user(request))[:30],
        },
    )
