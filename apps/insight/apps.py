from django.apps import AppConfig


class InsightConfig(AppConfig):
    """What staff learn from the answers: use, grounding, gaps, and documents to fix."""

    name = "apps.insight"
    label = "insight"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Insight"
