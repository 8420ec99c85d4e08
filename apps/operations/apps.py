from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What operators need: health and readiness, metrics, request ids, backup and restore."""

    name = "apps.operations"
    label = "operations"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Operations"

    def ready(self) -> None:
        from apps.modelapi.observe import worker_alive
        from apps.operations.heartbeat import record_heartbeat

        worker_alive.connect(record_heartbeat, dispatch_uid="operations.record_heartbeat")
