from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    """Offline retrieval evaluation (BEIR), on top of search; nothing imports it."""

    name = "apps.evaluation"
    label = "evaluation"
    default_auto_field = "django.db.models.BigAutoField"
