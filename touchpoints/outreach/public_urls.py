"""Public (no login) addresses of the outreach app, linked from the mail customers receive."""

from django.urls import path

from . import public_views

urlpatterns = [
    path("<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("<str:token>/one-click/", public_views.unsubscribe_one_click, name="unsubscribe_one_click"),
]
