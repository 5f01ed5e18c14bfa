"""/privacy/: the privacy requests (managers), namespace ``dataprotection``."""

from django.urls import path

from . import views

app_name = "dataprotection"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("customers/<int:pk>/<str:kind>/", views.request_create, name="create"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/download/", views.request_download, name="download"),
    path("<int:pk>/erase/", views.request_erase, name="erase"),
]
