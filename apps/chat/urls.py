from django.urls import path

from apps.chat import views

app_name = "chat"

urlpatterns = [
    path("", views.ask_view, name="ask"),
    path("ask/stream", views.ask_stream_view, name="ask_stream"),
    path("c/<int:pk>/", views.conversation_view, name="conversation"),
]
