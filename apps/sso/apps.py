from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Sign-in through the company's identity provider (OpenID Connect)."""

    name = "apps.sso"
    label = "sso"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Sign-in with the identity provider"
