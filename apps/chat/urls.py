from django.urls import path

from apps.chat import share_views, views

app_name = "chat"

urlpatterns = [
    path("", views.ask_view, name="ask"),
    path("ask/stream", views.ask_stream_view, name="ask_stream"),
    path("c/<int:pk>/", views.conversation_view, name="conversation"),
    path("c/<int:pk>/rename", views.conversation_rename_view, name="conversation_rename"),
    path("c/<int:pk>/delete", views.conversation_delete_view, name="conversation_delete"),
    path("c/<int:pk>/share", share_views.share_view, name="conversation_share"),
    path("c/<int:pk>/unshare", share_views.unshare_view, name="conversation_unshare"),
    path("c/<int:pk>/export.md", share_views.export_view, name="conversation_export"),
    path("shared/<str:token>/", share_views.shared_view, name="shared"),
    path("shared/<str:token>/export.md", share_views.shared_export_view, name="shared_export"),
    path("answers/<int:pk>/feedback", views.feedback_view, name="feedback"),
]
