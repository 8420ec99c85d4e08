from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from qa_site.signin import AdminSignInForm, SignInForm

admin.site.login_form = AdminSignInForm  # a bounded, clean user name (qa_site/signin.py)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("local/v1/", include("apps.localmodels.urls")),
    # The same provider under Groq's own path layout, so the `groq` SDK can use base_url=".../local".
    path(
        "local/openai/v1/",
        include(("apps.localmodels.urls", "localmodels"), namespace="localmodels-groq"),
    ),
    path("", include("apps.chat.urls")),
    path("", include("apps.search.urls")),
    path("", include("apps.knowledge.urls")),
    path("", include("apps.sources.urls")),
]

# A database that is down answers 503 with a sentence, not Django's 500 (qa_site/unavailable.py).
handler500 = "qa_site.unavailable.server_error"
