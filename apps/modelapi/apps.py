from django.apps import AppConfig


class ModelapiConfig(AppConfig):
    name = "apps.modelapi"
    label = "modelapi"
    default_auto_field = "django.db.models.BigAutoField"
