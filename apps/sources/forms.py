from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from apps.knowledge.cleaning import CleanCharField


class SiteSourceForm(forms.Form):
    start_url = CleanCharField(
        max_length=2000,
        label="Start page or sitemap.xml",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/handbook/"}),
    )
    scope = CleanCharField(
        max_length=2000,
        required=False,
        label="Scope (URL prefix)",
        help_text="Empty: the start URL's host and folder.",
    )
    max_pages = forms.IntegerField(min_value=1, label="Max pages")
    max_depth = forms.IntegerField(min_value=0, max_value=50, label="Max link depth")
    every_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 366,
        label="Re-sync every (hours)",
        help_text="0: on request only.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["max_pages"].initial = settings.SOURCES_DEFAULT_MAX_PAGES
        self.fields["max_depth"].initial = settings.SOURCES_DEFAULT_MAX_DEPTH
        self.fields["every_hours"].initial = settings.SOURCES_DEFAULT_EVERY_HOURS

    def clean_max_pages(self) -> int:
        value = int(self.cleaned_data["max_pages"])
        if value > settings.SOURCES_MAX_PAGES_LIMIT:
            raise forms.ValidationError(f"At most {settings.SOURCES_MAX_PAGES_LIMIT:,} pages.")
        return value
