from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.knowledge.cleaning import CleanCharField
from apps.knowledge.models import KnowledgeBase

MAX_QUESTION_CHARS = 2000


class AskForm(forms.Form):
    question = CleanCharField(  # no control characters reach the pipeline or the database
        max_length=MAX_QUESTION_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Ask a question…", "required": True}
        ),
    )
    knowledge_base = forms.ModelChoiceField(
        queryset=KnowledgeBase.objects.none(),
        required=False,
        empty_label="All my knowledge bases",
    )

    def __init__(self, *args: Any, knowledge_bases: QuerySet[KnowledgeBase], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["knowledge_base"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = knowledge_bases

    def clean_question(self) -> str:
        question = str(self.cleaned_data["question"]).strip()
        if not question:
            raise forms.ValidationError("Please type a question.")
        return question


class RenameForm(forms.Form):
    title = CleanCharField(max_length=200, error_messages={"required": "Please type a title."})


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(choices=[("1", "up"), ("-1", "down")], coerce=int)
    comment = CleanCharField(max_length=2000, required=False)
