from django.urls import path

from apps.localmodels import audio_views, views

app_name = "localmodels"

urlpatterns = [
    path("embeddings", views.embeddings, name="embeddings"),
    path("reranking", views.reranking, name="reranking"),
    path("rerank", views.cohere_rerank, name="rerank"),
    path("chat/completions", views.chat_completions, name="chat_completions"),
    path("audio/transcriptions", audio_views.transcriptions, name="transcriptions"),
    path("models", views.models, name="models"),
    path("models/<str:model_id>", views.model_detail, name="model_detail"),
]
