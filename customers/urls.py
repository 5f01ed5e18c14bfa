from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("new/", views.CustomerCreateView.as_view(), name="create"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", views.CustomerDeleteView.as_view(), name="delete"),
    path("<int:pk>/notes/", views.note_create, name="note_create"),
    path("<int:pk>/timeline/", views.customer_timeline, name="timeline"),
    path("<int:pk>/preferences/", views.preferences_set, name="preferences_set"),
    path("<int:pk>/preferences/history/", views.preferences_history, name="preferences_history"),
    path("postal-code/", views.postal_lookup, name="postal_lookup"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<int:pk>/edit/", views.TagUpdateView.as_view(), name="tag_update"),
    path("tags/<int:pk>/delete/", views.TagDeleteView.as_view(), name="tag_delete"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new/", views.segment_edit, name="segment_create"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_update"),
    path("segments/<int:pk>/count/", views.segment_count, name="segment_count"),
    path("segments/<int:pk>/delete/", views.SegmentDeleteView.as_view(), name="segment_delete"),
    # duplicates and merge
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("merge/", views.customer_merge, name="merge"),
    # CSV import and export
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/apply/", views.import_apply, name="import_apply"),
    path("export.csv", views.customer_export, name="export"),
]
