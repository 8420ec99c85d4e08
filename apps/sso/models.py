"""Which provider account is which local user: the link that decides every later sign-in."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OidcIdentity(models.Model):
    """One account at one identity provider (``iss`` + ``sub``), linked to one local user.

    A sign-in finds its user through this row only, never by a matching user name or
    e-mail address (unless ``OIDC_LINK_BY_EMAIL`` says so, and then once, when the row is
    made), so a provider account cannot take over a local one.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "identity-provider account"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_unique_identity")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
