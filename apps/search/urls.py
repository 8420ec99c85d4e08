from django.urls import path

from apps.search import views

app_name = "search"

urlpatterns = [
    path("search/", views.search_view, name="search"),
    path("search/documents.json", views.document_titles_view, name="document_titles"),
]
