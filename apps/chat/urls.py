from django.urls import path

from apps.chat import views

app_name = "chat"

urlpatterns = [
    path("", views.ask_view, name="ask"),
    path("ask/stream", views.ask_stream_view, name="ask_stream"),
    path("c/<int:pk>/", views.conversation_view, name="conversation"),
    path("c/<int:pk>/rename", views.conversation_rename_view, name="conversation_rename"),
    path("c/<int:pk>/delete", views.conversation_delete_view, name="conversation_delete"),
    path("answers/<int:pk>/feedback", views.feedback_view, name="feedback"),
]
