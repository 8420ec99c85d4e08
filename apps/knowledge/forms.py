"""Forms of the knowledge-base pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group
from django.contrib.postgres.search import SearchVector
from django.db import DatabaseError, transaction
from django.db.models import Value

from apps.knowledge.cleaning import CleanCharField
from apps.knowledge.models import KnowledgeBase
from apps.knowledge.models.knowledge_base import INSTRUCTIONS_MAX_CHARS


def text_search_config_exists(name: str) -> bool:
    """Whether the server knows the text-search configuration (an ORM probe: to_tsvector)."""
    probe = SearchVector(Value("probe"), config=Value(name))
    try:
        with transaction.atomic():
            list(KnowledgeBase.objects.annotate(probe=probe).values_list("probe")[:1])
    except DatabaseError:
        return False
    return True


class LanguageCheckMixin:
    """A language the database cannot stem with is refused with the reason, not stored."""

    cleaned_data: dict[str, Any]

    def clean_language(self) -> str:
        language = str(self.cleaned_data["language"])
        if not text_search_config_exists(language):
            raise forms.ValidationError(
                "This database server has no unaccent extension, so this language setting is "
                "not available here; choose “Mixed languages (no stemming)”."
            )
        return language


def _groups_field(help_text: str) -> forms.ModelMultipleChoiceField[Group]:
    return forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


class SharingForm(forms.ModelForm[KnowledgeBase]):
    """Who may read a knowledge base (everyone signed in, or members of the chosen groups),
    and which groups may also edit its documents."""

    groups = _groups_field("Members of these groups may read and ask this knowledge base.")
    editor_groups = _groups_field(
        "Members of these groups may also add, re-index and delete documents and web sources "
        "(not change these settings or the sharing)."
    )

    class Meta:
        model = KnowledgeBase
        fields = ["shared_with_all", "groups", "editor_groups"]
        labels = {"shared_with_all": "Everyone signed in", "editor_groups": "Editor groups"}


class NewKnowledgeBaseForm(LanguageCheckMixin, forms.ModelForm[KnowledgeBase]):
    """What a staff member gives to start a knowledge base of their own."""

    name = CleanCharField(max_length=200)
    description = CleanCharField(max_length=2000, required=False, widget=forms.Textarea)

    class Meta:
        model = KnowledgeBase
        fields = ["name", "description", "language"]

    def clean_name(self) -> str:
        name = " ".join(str(self.cleaned_data["name"]).split())
        taken = KnowledgeBase.objects.filter(name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A knowledge base with this name exists already.")
        return name


class SettingsForm(NewKnowledgeBaseForm):
    """Name, description, language, the model's instructions and the retrieval settings."""

    instructions = CleanCharField(
        max_length=INSTRUCTIONS_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A short addition to the model's instructions for questions to this base, "
        "such as “Answer in German” or “Name the policy owner”. Readers see it.",
    )

    class Meta:
        model = KnowledgeBase
        fields = [
            "name",
            "description",
            "language",
            "instructions",
            "passages_to_model",
            "rerank",
            "readers_may_download",
        ]
        labels = {
            "passages_to_model": "Passages sent to the model",
            "rerank": "Rerank the candidates",
            "readers_may_download": "Readers may download original files",
        }
