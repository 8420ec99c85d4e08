from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who a request is: personal API tokens and sign-in through the identity provider."""

    name = "apps.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Accounts"
