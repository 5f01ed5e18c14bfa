"""Authentication backend that loads a user, and a user's permissions, in one query each, compiled once.

Django's ModelBackend asks twice for permissions (user permissions, then group permissions); every staff page checks
permissions, so one query instead of two is one query fewer on every list page. Every request also loads its user
from the session. The ORM compiles both queries anew each time, which costs more than running them (about a
millisecond of CPU on every page), so their SQL is compiled once per process and database and run with the user's id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.db import connections, router
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Stands for the user's id while a query is compiled; replaced by the real id in the parameters of each run.
USER_ID = -7_654_321

_compiled: dict[tuple[str, str], tuple[str, tuple, list[str]]] = {}


@receiver(setting_changed)
def _forget_compiled(**kwargs) -> None:
    _compiled.clear()


def _compile(name: str, db: str, queryset: Callable[[], QuerySet]) -> tuple[str, tuple, list[str]]:
    """The SQL and parameters of the ``queryset()`` and the attribute names of its columns, built and compiled once
    (building a queryset's joins costs as much as compiling it)."""
    key = (name, db)
    if key not in _compiled:
        compiler = queryset().query.get_compiler(db)
        sql, params = compiler.as_sql()
        names = [getattr(getattr(col, "target", None), "attname", None) for col, _, _ in compiler.select]
        _compiled[key] = (sql, tuple(params), names)
    return _compiled[key]


def _run(compiled: tuple[str, tuple, list[str]], db: str, user_id: Any) -> list[tuple]:
    sql, params, _ = compiled
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [user_id if p == USER_ID else p for p in params])
        return cursor.fetchall()


class PermissionBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user_id = user_model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        db = router.db_for_read(user_model)
        compiled = _compile("user", db, lambda: user_model._default_manager.db_manager(db).filter(pk=USER_ID))
        rows = _run(compiled, db, user_id)
        if not rows:
            return None
        user = user_model.from_db(db, compiled[2], rows[0])
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            db = router.db_for_read(Permission)
            if user_obj.is_superuser:
                name, perms = "all permissions", Q()
            else:
                name, perms = "user permissions", Q(user=USER_ID) | Q(group__user=USER_ID)
            compiled = _compile(
                name,
                db,
                lambda: (
                    Permission.objects.db_manager(db)
                    .filter(perms)
                    .values_list("content_type__app_label", "codename")
                    .distinct()
                ),
            )
            user_obj._perm_cache = {
                f"{app_label}.{codename}" for app_label, codename, *_ in _run(compiled, db, user_obj.pk)
            }
        return user_obj._perm_cache


def login_locked_out(request: HttpRequest, response: HttpResponse | None, credentials: dict | None) -> HttpResponse:
    """django-axes' answer to a locked-out login: the login card, saying why and for how long (429)."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)
