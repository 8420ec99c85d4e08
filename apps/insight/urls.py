from django.urls import path

from apps.insight import views

app_name = "insight"

urlpatterns = [
    path("kb/insight/", views.insight_all, name="all"),
    path("kb/<int:pk>/insight/", views.insight_base, name="base"),
]
