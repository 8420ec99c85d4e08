"""The HTTP API: one NinjaAPI at /api/v1/, its OpenAPI document and its docs page.

django-ninja because the rest of the code already speaks pydantic: request and response
bodies are pydantic schemas, validated on the way in and documented in
/api/v1/openapi.json without a second description. Every route needs a bearer token
(``apps.api.auth``); every error is JSON (``apps.api.errors``).

The docs page (/api/v1/docs) is Swagger UI from ninja's own static files ("ninja" is in
INSTALLED_APPS, so no CDN, and its script is a file, not inline, which our
Content-Security-Policy requires); its stylesheet draws icons from ``data:`` images,
allowed on that page only.
"""

from __future__ import annotations

import importlib.util

from csp.constants import SELF
from csp.decorators import csp_update
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from apps.api.auth import bearer
from apps.api.errors import install_error_handlers

API_VERSION = "1.0.0"
DESCRIPTION = (
    "Search and ask the knowledge bases you may read, and manage the documents of those you "
    "manage. Authenticate with a personal API token (Account → API tokens, or "
    "`manage.py create_api_token`): `Authorization: Bearer <token>`. Errors are JSON: "
    '`{"error": {"message", "type", "code"}}`.'
)

api = NinjaAPI(
    title="Knowledge base QA API",
    version=API_VERSION,
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_decorator=csp_update({"img-src": [SELF, "data:"]}),
    auth=bearer,
)
install_error_handlers(api)


def _mount_routers() -> None:
    from apps.api.ask import router as ask_router
    from apps.api.conversations import router as conversations_router
    from apps.api.knowledge import router as knowledge_router
    from apps.api.search import router as search_router

    api.add_router("", search_router, tags=["search"])
    api.add_router("", ask_router, tags=["ask"])
    api.add_router("/conversations", conversations_router, tags=["conversations"])
    api.add_router("", knowledge_router, tags=["knowledge bases"])
    # The OpenAI-compatible endpoints (helper "openai"): mounted once the module exists.
    if importlib.util.find_spec("apps.api.openai_compat") is not None:
        from apps.api.openai_compat import router as openai_router

        api.add_router("/openai", openai_router, tags=["openai-compatible"])


_mount_routers()
