"""Forms of the knowledge-base pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group

from apps.knowledge.models import KnowledgeBase


class SharingForm(forms.ModelForm[KnowledgeBase]):
    """Who may read a knowledge base: everyone signed in, or members of the chosen groups."""

    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members of these groups may read and ask this knowledge base.",
    )

    class Meta:
        model = KnowledgeBase
        fields = ["shared_with_all", "groups"]
        labels = {"shared_with_all": "Everyone signed in"}
