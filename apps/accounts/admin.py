from django.contrib import admin

from apps.accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are created by their users (or the command); staff may only see and revoke."""

    list_display = ("name", "user", "prefix", "read_only", "created_at", "last_used_at")
    list_filter = ("read_only",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "prefix", "secret_hash", "created_at", "last_used_at")
    fields = (*readonly_fields, "name", "read_only", "expires_at", "revoked_at")

    def has_add_permission(self, request: object) -> bool:
        return False
