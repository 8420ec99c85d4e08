from django.urls import path

from apps.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("documents/<int:pk>/", views.document_detail, name="document"),
    path("documents/<int:pk>/file", views.document_file, name="document_file"),
]
