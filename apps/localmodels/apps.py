from django.apps import AppConfig


class LocalmodelsConfig(AppConfig):
    name = "apps.localmodels"
    label = "localmodels"
    default_auto_field = "django.db.models.BigAutoField"
