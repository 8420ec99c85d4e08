"""The tests' handle on the provider: create or change users and clients over loopback.

``POST /_control/`` with a JSON body and the ``X-Control-Token`` the provider was started
with; ``{"user": {...}}`` upserts a user with password and groups, ``{"client": {...}}``
a confidential authorization-code client with its redirect URIs and behaviour.
"""

from __future__ import annotations

import json
import os

from django.contrib.auth.models import Group, User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import Application


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    if (
        request.method != "POST"
        or request.headers.get("X-Control-Token") != os.environ["OIDC_PROVIDER_CONTROL_TOKEN"]
    ):
        return HttpResponse(status=403)
    body = json.loads(request.body)
    if "user" in body:
        return JsonResponse(_user(body["user"]))
    if "client" in body:
        return JsonResponse(_client(body["client"]))
    return HttpResponse(status=400)


def _user(spec: dict) -> dict:
    user, _ = User.objects.get_or_create(username=spec["username"])
    user.set_password(spec["password"])
    user.email = spec.get("email", "")
    user.first_name = spec.get("given_name", "")
    user.last_name = spec.get("family_name", "")
    user.save()
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in spec.get("groups", [])])
    return {"sub": str(user.pk)}


def _client(spec: dict) -> dict:
    Application.objects.filter(client_id=spec["client_id"]).delete()
    Application.objects.create(
        client_id=spec["client_id"],
        client_secret=spec["client_secret"],
        name=spec.get("behaviour", "normal"),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM,
        redirect_uris=" ".join(spec["redirect_uris"]),
        post_logout_redirect_uris=" ".join(spec.get("post_logout_redirect_uris", [])),
        skip_authorization=True,
    )
    return {"client_id": spec["client_id"]}
