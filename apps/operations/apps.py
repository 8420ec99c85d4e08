from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What operators need: health and readiness, metrics, request ids, backup and restore."""

    name = "apps.operations"
    label = "operations"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Operations"
