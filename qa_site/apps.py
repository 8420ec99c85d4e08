from __future__ import annotations

from django.apps import AppConfig


class QaSiteConfig(AppConfig):
    """The project package as an app, for the checks it registers."""

    name = "qa_site"
    verbose_name = "Site"

    def ready(self) -> None:
        from django.core import checks

        from qa_site.database_check import check_database_versions

        checks.register(check_database_versions, checks.Tags.database)
