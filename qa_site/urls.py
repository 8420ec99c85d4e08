from django.contrib import admin
from django.urls import include, path

from apps.sso.views import SignOutView
from qa_site.signin import AdminSignInForm, SignInView

admin.site.login_form = AdminSignInForm  # a bounded, clean user name (qa_site/signin.py)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", SignInView.as_view(), name="login"),
    # Ends the identity provider's session too, after a sign-in through it (apps/sso).
    path("logout/", SignOutView.as_view(), name="logout"),
    path("", include("apps.sso.urls")),
    # The HTTP API: JSON only, bearer tokens (apps/api); docs at /api/v1/docs.
    path("api/v1/", include("apps.api.urls")),
    # /healthz, /readyz (no sign-in, check names only) and /metrics (apps/operations).
    path("", include("apps.operations.urls")),
    path("local/v1/", include("apps.localmodels.urls")),
    # The same provider under Groq's own path layout, so the `groq` SDK can use base_url=".../local".
    path(
        "local/openai/v1/",
        include(("apps.localmodels.urls", "localmodels"), namespace="localmodels-groq"),
    ),
    path("", include("apps.chat.urls")),
    path("", include("apps.search.urls")),
    path("", include("apps.insight.urls")),
    path("", include("apps.knowledge.urls")),
    path("", include("apps.sources.urls")),
    path("", include("apps.accounts.urls")),  # the API tokens page
]

# A database that is down answers 503 with a sentence, not Django's 500 (qa_site/unavailable.py).
handler500 = "qa_site.unavailable.server_error"
