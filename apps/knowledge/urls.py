from django.urls import path

from apps.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("kb/", views.knowledge_base_list, name="list"),
    path("kb/new", views.knowledge_base_create, name="create"),
    path("kb/<int:pk>/", views.knowledge_base_manage, name="manage"),
    path("kb/<int:pk>/settings", views.knowledge_base_settings, name="settings"),
    path("kb/<int:pk>/upload", views.knowledge_base_upload, name="upload"),
    path("kb/<int:pk>/status.json", views.knowledge_base_status, name="status"),
    path("kb/<int:pk>/sharing", views.knowledge_base_sharing, name="sharing"),
    path("documents/<int:pk>/", views.document_detail, name="document"),
    path("documents/<int:pk>/file", views.document_file, name="document_file"),
    path(
        "documents/<int:pk>/pages/<int:page>.png",
        views.document_page_image,
        name="document_page_image",
    ),
    path("documents/<int:pk>/reindex", views.document_reindex, name="reindex"),
    path("documents/<int:pk>/delete", views.document_delete, name="delete"),
]
