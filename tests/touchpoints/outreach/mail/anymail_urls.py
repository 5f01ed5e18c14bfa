"""The project's URLs with the provider webhooks on, as crm/urls.py has them when ANYMAIL is configured."""

from django.urls import include, path

from crm.urls import urlpatterns as project

urlpatterns = [*project, path("anymail/", include("anymail.urls"))]
