from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.knowledge.cleaning import CleanCharField
from apps.knowledge.models import KnowledgeBase
from apps.search.filters import (
    FILE_TYPES,
    MAX_FILTER_DOCUMENTS,
    DocumentFilter,
    document_filter,
)

MAX_QUESTION_CHARS = 2000
MAX_ID_DIGITS = 18


class IdListField(forms.Field):
    """Repeated hidden ``name=<id>`` inputs as a list of ids; anything not an id is refused."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        ids = []
        for raw in values:
            text = str(raw)
            if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
                raise forms.ValidationError("Unknown document.")
            ids.append(int(text))
        if len(ids) > MAX_FILTER_DOCUMENTS:
            raise forms.ValidationError(f"Ask about at most {MAX_FILTER_DOCUMENTS} documents.")
        return ids


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

    # Narrowing the question (apps/search/filters.py), carried into the retrieval SQL.
    document = IdListField(required=False)
    file_types = forms.MultipleChoiceField(
        choices=[(key, label) for key, (label, _) in FILE_TYPES.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="File types",
    )
    added_after = forms.DateField(
        required=False, label="Added from", widget=forms.DateInput(attrs={"type": "date"})
    )
    added_before = forms.DateField(
        required=False, label="Added until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, knowledge_bases: QuerySet[KnowledgeBase], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["knowledge_base"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = knowledge_bases

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        after, before = cleaned.get("added_after"), cleaned.get("added_before")
        if after and before and after > before:
            self.add_error("added_before", "The end date comes before the start date.")
        return cleaned

    def document_filter(self) -> DocumentFilter:
        """The filter of a valid form (empty when nothing narrows the question)."""
        return document_filter(
            document_ids=self.cleaned_data.get("document") or [],
            file_types=self.cleaned_data.get("file_types") or [],
            added_after=self.cleaned_data.get("added_after"),
            added_before=self.cleaned_data.get("added_before"),
        )

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
