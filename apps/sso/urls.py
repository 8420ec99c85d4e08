from django.urls import path

from apps.sso import views

app_name = "sso"

urlpatterns = [
    path("oidc/start/", views.StartView.as_view(), name="start"),
    path("oidc/callback/", views.CallbackView.as_view(), name="callback"),
]
