from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The HTTP API (/api/v1/) and the knowledge bases as an OpenAI-compatible model."""

    name = "apps.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "API"
