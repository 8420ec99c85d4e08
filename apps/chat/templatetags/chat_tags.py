from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from apps.chat.citations import render_answer, unique_sources
from apps.chat.models import Message

register = template.Library()


@register.simple_tag
def answer_html(message: Message) -> SafeString:
    return render_answer(message.content, message.citation_list, prefix=f"cite-{message.pk}")


@register.filter
def sources(message: Message) -> list[dict[str, object]]:
    return unique_sources(message.citation_list)
