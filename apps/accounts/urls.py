from django.urls import path

from apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/tokens/", views.tokens_view, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.revoke_view, name="revoke"),
]
