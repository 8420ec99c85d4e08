from django.urls import path

from apps.sources import views

app_name = "sources"

urlpatterns = [
    path("kb/<int:pk>/sources/add", views.source_add, name="add"),
    path("sources/<int:pk>/", views.source_detail, name="source"),
    path("sources/<int:pk>/sync", views.source_sync, name="sync"),
    path("sources/<int:pk>/cancel", views.source_cancel, name="cancel"),
    path("sources/<int:pk>/delete", views.source_delete, name="delete"),
]
