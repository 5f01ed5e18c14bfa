"""The framework floor of a page: a bare Django view that runs the page's main query through the ORM and renders
the same rows with a plain template, behind the project's own middleware (the same test client, the same
session). A page's time divided by its floor's says how much the page adds to what Django itself costs for the
same rows, whatever the machine: the ratio, not the milliseconds, is what the targets judge.

The benchmark process serves it from ``urls`` below (the project's URLs plus ``/__floor__/<key>/``); nothing in
the product imports this module.
"""

from __future__ import annotations

import re

from django.apps import apps
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

# key -> the SQL of a page's main query, registered by Context.time_page while it measures the page.
QUERIES: dict[int, str] = {}

TEMPLATE = engines["django"].from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title></head><body>
<table>{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</table>
</body></html>"""
)


def register(sql: str) -> int:
    key = len(QUERIES) + 1
    QUERIES[key] = sql
    return key


def model_of(sql: str):
    """The model whose table the query reads first (``FROM "app_model"``), or None."""
    match = re.search(r'FROM "(\w+)"', sql)
    if match is None:
        return None
    return next((m for m in apps.get_models() if m._meta.db_table == match.group(1)), None)


def floor_view(request: HttpRequest, key: int) -> HttpResponse:
    sql = QUERIES.get(key)
    model = model_of(sql) if sql else None
    if model is None:
        raise Http404
    # The same rows as model instances (what any Django list view starts from), then every column printed.
    with connection.cursor() as cursor:
        cursor.execute(sql)
        columns = [c.name for c in cursor.description]
        fetched = cursor.fetchall()
    attnames = {f.attname for f in model._meta.concrete_fields}
    positions = {}
    for i, column in enumerate(columns):
        if column in attnames and column not in positions:
            positions[column] = i
    names = list(positions)
    extra = [i for i in range(len(columns)) if i not in set(positions.values())]
    rows = []
    for values in fetched:
        obj = model.from_db(connection.alias, names, [values[positions[n]] for n in names])
        rows.append([*(obj.__dict__[n] for n in names), *(values[i] for i in extra)])
    return HttpResponse(TEMPLATE.render({"rows": rows}, request))


urlpatterns = [
    path("__floor__/<int:key>/", floor_view),
    path("", include("crm.urls")),
]
