from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.chat.access import withhold_unreadable_sources
from apps.chat.answering import answer_events, ask
from apps.chat.forms import AskForm, FeedbackForm, RenameForm
from apps.chat.models import Conversation, Feedback, Message
from apps.chat.sse import sse_stream
from apps.knowledge.models import Document, KnowledgeBase
from apps.modelapi.errors import ModelApiError
from apps.search.filters import MAX_FILTER_DOCUMENTS


def _signed_in_user(request: HttpRequest) -> User:
    """The user of a ``login_required`` view."""
    assert isinstance(request.user, User)
    return request.user


def own_conversation(request: HttpRequest, pk: int) -> Conversation:
    """The signed-in user's conversation ``pk``; anyone else's is not found."""
    return get_object_or_404(Conversation, pk=pk, user=_signed_in_user(request))


def attach_own_feedback(user: User, chat_messages: list[Message]) -> None:
    """Each answer's ``my_feedback``: the user's own rating and comment, if any."""
    given = {
        f.message_id: f
        for f in Feedback.objects.filter(user=user, message__in=[m.pk for m in chat_messages])
    }
    for message in chat_messages:
        message.my_feedback = given.get(message.pk)  # type: ignore[attr-defined]


def _selected_ids(request: HttpRequest, form: AskForm) -> list[int]:
    chosen = form.cleaned_data.get("knowledge_base")
    requested = [chosen.pk] if chosen is not None else None
    return KnowledgeBase.objects.readable_ids(request.user, requested=requested)


def initial_ask(request: HttpRequest) -> dict[str, Any]:
    """``?knowledge_base=`` (the list's "Ask" links) preselects a base and ``?document=``
    (the viewer's "Ask about this document") narrows to documents; junk is ignored."""
    initial: dict[str, Any] = {}
    chosen = request.GET.get("knowledge_base", "")
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 10:
        initial["knowledge_base"] = chosen
    documents = [d for d in request.GET.getlist("document") if d.isascii() and d.isdigit()]
    if documents:
        initial["document"] = [int(d) for d in documents[:MAX_FILTER_DOCUMENTS] if len(d) < 19]
    return initial


def follow_up_initial(request: HttpRequest, chat_messages: list[Message]) -> dict[str, Any]:
    """A follow-up is asked within what the last question was asked within (shown as chips
    and ticked boxes the user can clear), unless the link itself narrows it."""
    initial = initial_ask(request)
    if "document" in initial or request.GET.get("narrow") == "none":
        return initial
    last = next((m for m in reversed(chat_messages) if m.role == Message.Role.ASSISTANT), None)
    narrowed = (last.metadata or {}).get("filter") if last is not None else None
    if isinstance(narrowed, dict):
        initial.update(
            document=[int(i) for i in narrowed.get("documents") or [] if isinstance(i, int)],
            file_types=[str(t) for t in narrowed.get("file_types") or []],
            added_after=narrowed.get("added_after") or None,
            added_before=narrowed.get("added_before") or None,
        )
    return initial


def narrowed_documents(request: HttpRequest, form: AskForm) -> list[Document]:
    """The readable documents the form narrows to, for the chips above the question."""
    raw = form["document"].value() or []
    ids = [int(i) for i in raw if str(i).isascii() and str(i).isdigit() and len(str(i)) < 19]
    if not ids:
        return []
    readable = KnowledgeBase.objects.readable_by(request.user)
    return list(
        Document.objects.without_content()
        .filter(pk__in=ids[:MAX_FILTER_DOCUMENTS], knowledge_base__in=readable)
        .only("pk", "title")
        .order_by("title")
    )


@login_required
def ask_view(request: HttpRequest) -> HttpResponse:
    knowledge_bases = KnowledgeBase.objects.readable_by(request.user)
    form = AskForm(
        request.POST or None,
        knowledge_bases=knowledge_bases,
        initial=initial_ask(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            outcome = ask(
                user=_signed_in_user(request),
                question=form.cleaned_data["question"],
                knowledge_base_ids=_selected_ids(request, form),
                document_filter=form.document_filter(),
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
            "narrowed": narrowed_documents(request, form),
            "knowledge_bases": knowledge_bases,
            "conversations": Conversation.objects.filter(user=_signed_in_user(request))[:30],
        },
    )


@login_required
@require_POST
def ask_stream_view(request: HttpRequest) -> HttpResponseBase:
    """The answer as Server-Sent Events (the page's script); the plain POST stays for no-JS."""
    user = _signed_in_user(request)
    form = AskForm(request.POST, knowledge_bases=KnowledgeBase.objects.readable_by(user))
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    conversation = None
    if request.POST.get("conversation"):
        raw_id = request.POST.get("conversation", "")
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18):
            raise Http404("No such conversation.")  # "abc" was a ValueError, a 500
        conversation = get_object_or_404(Conversation, pk=int(raw_id), user=user)
    events = answer_events(
        user=user,
        question=form.cleaned_data["question"],
        knowledge_base_ids=_selected_ids(request, form),
        conversation=conversation,
        stream=True,
        document_filter=form.document_filter(),
    )
    response = StreamingHttpResponse(sse_stream(events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def share_url(request: HttpRequest, conversation: Conversation) -> str:
    if not conversation.share_token:
        return ""
    return request.build_absolute_uri(reverse("chat:shared", args=[conversation.share_token]))


@login_required
def conversation_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request, pk)
    knowledge_bases = KnowledgeBase.objects.readable_by(request.user)
    chat_messages = list(conversation.messages.all())
    form = AskForm(
        request.POST or None,
        knowledge_bases=knowledge_bases,
        initial=follow_up_initial(request, chat_messages),
    )
    if request.method == "POST" and form.is_valid():
        try:
            ask(
                user=_signed_in_user(request),
                question=form.cleaned_data["question"],
                knowledge_base_ids=_selected_ids(request, form),
                conversation=conversation,
                document_filter=form.document_filter(),
            )
        except ModelApiError as exc:
            form.add_error(None, exc.user_message)
        else:
            return redirect("chat:conversation", pk=conversation.pk)
    withhold_unreadable_sources(request.user, chat_messages)
    attach_own_feedback(_signed_in_user(request), chat_messages)
    return render(
        request,
        "chat/conversation.html",
        {
            "conversation": conversation,
            "share_url": share_url(request, conversation),
            "chat_messages": chat_messages,
            "form": form,
            "narrowed": narrowed_documents(request, form),
            "conversations": Conversation.objects.filter(user=_signed_in_user(request))[:30],
        },
    )


@login_required
@require_POST
def conversation_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request, pk)
    form = RenameForm(request.POST)
    if form.is_valid():
        conversation.title = form.cleaned_data["title"]
        conversation.save(update_fields=["title", "updated_at"])
    else:
        messages.error(request, " ".join(str(e) for e in form.errors.get("title", [])))
    return redirect("chat:conversation", pk=conversation.pk)


@login_required
@require_POST
def conversation_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = own_conversation(request, pk)
    title = conversation.title
    conversation.delete()
    messages.success(request, f"Deleted the conversation “{title}”.")
    return redirect("chat:ask")


@login_required
@require_POST
def feedback_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Thumbs up or down (and a comment) on one of the user's own answers."""
    user = _signed_in_user(request)
    answer = get_object_or_404(Message, pk=pk, role=Message.Role.ASSISTANT, conversation__user=user)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    Feedback.objects.update_or_create(
        message=answer,
        user=user,
        defaults={"rating": form.cleaned_data["rating"], "comment": form.cleaned_data["comment"]},
    )
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"saved": True, "rating": form.cleaned_data["rating"]})
    messages.success(request, "Thank you for the feedback.")
    return redirect(f"{reverse('chat:conversation', args=[answer.conversation_id])}#answer-{pk}")
