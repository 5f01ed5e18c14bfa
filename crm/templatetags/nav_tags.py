"""The main navigation's menus, rendered once per variant instead of once per request.

The menus (templates/includes/_nav_menus.html) hold some thirty permission checks, forty reversed URLs and as many
translations: a few milliseconds on every staff page. Yet they are the same for every user with the same permissions,
in the same language, on a page of the same section. ``{% nav_menus %}`` renders them with only those inputs in the
context, so that the output cannot depend on anything else, and keeps each variant in a small in-process table
(a handful of roles × two languages × seven sections). The per-request parts of the navbar (the CSRF token, the path
the language switch returns to, the user's name) stay in _navbar.html.
"""

from __future__ import annotations

from django import template
from django.contrib.auth.context_processors import PermWrapper
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

MENUS_TEMPLATE = "includes/_nav_menus.html"
# The apps whose pages mark their menu active (request.resolver_match.app_name).
SECTIONS = frozenset({"customers", "touchpoints", "loyalty", "feedback", "insights"})
MAX_VARIANTS = 256  # a bound, not a tuning knob: the real number is roles × languages × sections

_variants: dict[tuple, SafeString] = {}
_source: list = [None]  # the template the variants were rendered from (a new one after a template reload)


@receiver(setting_changed)
def _forget_variants(**kwargs) -> None:
    _variants.clear()


def nav_section(request) -> dict[str, object]:
    """Where the request is, as far as the menus care: the home page, an app's pages, the outreach pages."""
    match = getattr(request, "resolver_match", None)
    app_name = getattr(match, "app_name", "")
    if app_name == "outreach":  # outreach's pages live under /touchpoints/ and keep the Journey section marked
        app_name = "touchpoints"
    return {
        "home": getattr(match, "url_name", None) == "home",
        "app": app_name if app_name in SECTIONS else "",
        "outreach": "/outreach/" in request.path,
    }


@register.simple_tag(takes_context=True)
def nav_menus(context) -> SafeString:
    request = context.get("request")
    if request is None:  # a page rendered without its request (no user, no menus)
        return ""
    user = request.user
    section = nav_section(request)
    menus = context.template.engine.get_template(MENUS_TEMPLATE)
    if menus is not _source[0]:
        _variants.clear()
        _source[0] = menus
    key = (
        get_language(),
        get_script_prefix(),
        get_urlconf(),
        user.is_active,
        user.is_superuser,
        frozenset(user.get_all_permissions()),
        tuple(section.values()),
    )
    html = _variants.get(key)
    if html is None:
        if len(_variants) >= MAX_VARIANTS:
            _variants.clear()
        rendered = menus.render(Context({"perms": PermWrapper(user), "nav": section}, autoescape=context.autoescape))
        # Rendered by the template engine, every value escaped there.
        html = _variants[key] = mark_safe(rendered.strip())  # noqa: S308
    return html
