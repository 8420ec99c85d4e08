"""The signed-in user's API tokens: list, create (the raw token is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.forms import TokenForm
from apps.accounts.models import ApiToken
from apps.accounts.tokens import create_token


def _signed_in_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def tokens_view(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST creates one and shows it in this one response only (it is
    never stored, so it cannot be shown again; the page is not cached)."""
    user = _signed_in_user(request)
    form = TokenForm(request.POST or None)
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST" and form.is_valid():
        created = create_token(
            user,
            form.cleaned_data["name"],
            expires_days=form.cleaned_data["expires_days"],
            read_only=form.cleaned_data["read_only"],
        )
        form = TokenForm()
    response = render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "tokens": ApiToken.objects.filter(user=user),
            "created": created[0] if created else None,
            "raw_token": created[1] if created else "",
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=_signed_in_user(request))
    token.revoke()
    messages.success(request, f"Revoked the token “{token.name}”; it no longer works.")
    return redirect("accounts:tokens")
