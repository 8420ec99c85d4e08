from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "apps.sources"
    label = "sources"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Site sources"

    def ready(self) -> None:
        from django_tasks.signals import task_finished

        from apps.sources.signals import keep_the_sweep_queued

        task_finished.connect(keep_the_sweep_queued, dispatch_uid="sources-sweep")
