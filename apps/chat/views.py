from __future__ import annotations

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
from apps.knowledge.models import KnowledgeBase
from apps.modelapi.errors import ModelApiError


def _signed_in_user(request: HttpRequest) -> User:
    """The user of a ``login_required`` view."""
    assert isinstance(request.user, User)
    return request.user


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


def initial_ask(request: HttpRequest) -> dict[str, str]:
    """``?knowledge_base=`` (the list's "Ask" links) preselects a base; unknown ids, none."""
    chosen = request.GET.get("knowledge_base", "")
    return {"knowledge_base": chosen} if chosen.isdigit() and len(chosen) < 10 else {}


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
    )
    response = StreamingHttpResponse(sse_stream(events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@login_required
def conversation_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = get_object_or_404(Conversation, pk=pk, user=_signed_in_user(request))
    knowledge_bases = KnowledgeBase.objects.readable_by(request.user)
    form = AskForm(
        request.POST or None,
        knowledge_bases=knowledge_bases,
        initial=initial_ask(request),
    )
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
    withhold_unreadable_sources(request.user, chat_messages)
    attach_own_feedback(_signed_in_user(request), chat_messages)
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


@login_required
@require_POST
def conversation_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = get_object_or_404(Conversation, pk=pk, user=_signed_in_user(request))
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
    conversation = get_object_or_404(Conversation, pk=pk, user=_signed_in_user(request))
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
