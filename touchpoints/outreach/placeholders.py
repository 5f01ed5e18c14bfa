"""The placeholders a message template may use, and the renderer that fills them in.

Templates are typed by staff, so they are never run through Django's template engine (no tags, no
filters, no attribute access): the renderer replaces ``{name}`` for the names registered here and
leaves every other character as typed. Messages are plain text, so nothing needs escaping.

The outreach app registers the customer's name, the shop's name and the unsubscribe link; the apps
above it add theirs in their ``AppConfig.ready()``::

    from touchpoints.outreach import placeholders
    placeholders.register("points_balance", _("Points balance"), lambda customer: str(balance_of(customer)))

A function receives the ``Customer`` and returns a string; it runs once per message that uses it, so
it should be cheap (a broadcast renders one message per customer of the segment). A placeholder that
needs a query gives a bulk hook as well, ``prefetch(customer_ids) -> {customer_id: value}`` (customers
missing from the answer get ``empty``)::

    placeholders.register("points_balance", _("Points balance"), balance_of, prefetch=balances_of, empty="0")

Code rendering many messages wraps the rendering in ``with placeholders.bulk(customer_ids):``; each
prefetching placeholder the texts use is then asked once for all those customers (one query), not once
per message. Outside ``bulk()`` (or for a customer not in it) ``func`` is called as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from customers.names import person_name

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# {name}, or {name|text shown when it is empty} (a non-member's {tier|—}).
PLACEHOLDER_RE = re.compile(r"\{([a-z][a-z0-9_]{0,39})(?:\|([^{}\n]{0,100}))?\}")
# {if name}…{end}: the text between is kept only when {name} has a value for this customer, so a sentence about
# the rank and the points disappears for a non-member instead of reading
# 「現在のランクは、ポイント残高は0ポイントです。」.
CONDITIONAL_RE = re.compile(r"\{if ([a-z][a-z0-9_]{0,39})\}(.*?)\{end\}", re.DOTALL)


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: Any
    func: Callable[[Any], str]
    # The bulk hook: values for many customers at once (one query), used inside ``bulk()``.
    prefetch: Callable[[list[int]], Mapping[int, str]] | None = None
    empty: str = ""  # the value of a customer the prefetch answer leaves out

    @property
    def token(self) -> str:
        return "{" + self.name + "}"


_registry: dict[str, Placeholder] = {}


def register(
    name: str,
    label: Any,
    func: Callable[[Any], str],
    *,
    prefetch: Callable[[list[int]], Mapping[int, str]] | None = None,
    empty: str = "",
) -> None:
    """Make ``{name}`` available to every template; ``func(customer) -> str`` gives its value, and
    ``prefetch(customer_ids) -> {id: str}`` (optional) the values of many customers in one go."""
    if not NAME_RE.match(name):
        raise ValueError(f"placeholder names are lower-case letters, digits and _: {name!r}")
    _registry[name] = Placeholder(name=name, label=label, func=func, prefetch=prefetch, empty=empty)


class _Bulk:
    """The customers being rendered together, and the prefetched values asked for so far (by name)."""

    def __init__(self, customer_ids: Iterable[int]):
        self.ids = sorted(set(customer_ids))
        self.id_set = set(self.ids)
        self.values: dict[str, Mapping[int, str]] = {}

    def value(self, placeholder: Placeholder, customer: Any) -> str | None:
        if placeholder.prefetch is None or customer.pk not in self.id_set:
            return None
        if placeholder.name not in self.values:
            self.values[placeholder.name] = placeholder.prefetch(self.ids)
        found = self.values[placeholder.name].get(customer.pk)
        return placeholder.empty if found is None else str(found)


_bulk: contextvars.ContextVar[_Bulk | None] = contextvars.ContextVar("touchpoints_placeholders_bulk", default=None)


@contextlib.contextmanager
def bulk(customer_ids: Iterable[int]) -> Iterator[None]:
    """Render the messages of these customers with each prefetching placeholder asked once for all of them
    (lazily: only the placeholders the texts use). Nested calls replace the outer set until they end."""
    token = _bulk.set(_Bulk(customer_ids))
    try:
        yield
    finally:
        _bulk.reset(token)


def placeholders() -> list[Placeholder]:
    return sorted(_registry.values(), key=lambda p: p.name)


def names_in(text: str) -> set[str]:
    text = text or ""
    conditions = {m.group(1) for m in CONDITIONAL_RE.finditer(text)}
    inner = CONDITIONAL_RE.sub(lambda m: m.group(2), text)
    return conditions | {m.group(1) for m in PLACEHOLDER_RE.finditer(inner)}


def unknown_names(text: str, extra: Mapping[str, Any] | None = None) -> list[str]:
    """The ``{names}`` in ``text`` that are neither registered nor given in ``extra``, for form errors."""
    known = set(_registry) | set(extra or {})
    return sorted(names_in(text) - known)


def unknown_message(text: str) -> str:
    """The form error for the placeholders of ``text`` that no one fills in, or "" when there are none."""
    unknown = unknown_names(text or "")
    if not unknown:
        return ""
    return _("Unknown placeholder(s): %(unknown)s. Available: %(known)s") % {
        "unknown": ", ".join("{" + n + "}" for n in unknown),
        "known": ", ".join(p.token for p in placeholders()),
    }


def needs_context(template: Any) -> bool:
    """Whether a message template names a placeholder only the code sending it fills in (``{ticket_reference}``,
    ``{survey_url}``): such a template cannot be sent by a rule or a broadcast, which know only the customer."""
    texts = (template.subject_ja, template.body_ja, template.subject_en, template.body_en)
    return any(unknown_names(text or "") for text in texts)


def render(text: str, *, customer: Any, language: str, extra: Mapping[str, Any] | None = None) -> str:
    """``text`` with each known ``{name}`` replaced by its value for ``customer``; unknown ones stay as typed.

    ``extra`` holds values given by the calling code (not by staff), which win over registered ones.
    ``language`` is the message's language (a customer's name is written in its order).
    """
    if not text or "{" not in text:
        return text or ""
    values: dict[str, str] = {}
    batch = _bulk.get()

    def lookup(name: str) -> str | None:
        if name not in values:
            if extra and name in extra:
                values[name] = str(extra[name])
            elif name in _registry:
                placeholder = _registry[name]
                if name == "customer_name":
                    values[name] = customer_name(customer, language)
                else:
                    prefetched = batch.value(placeholder, customer) if batch is not None else None
                    values[name] = prefetched if prefetched is not None else str(placeholder.func(customer))
            else:
                return None
        return values[name]

    def value(match: re.Match) -> str:
        found = lookup(match.group(1))
        if found is None:
            return match.group(0)
        fallback = match.group(2)
        return found if found.strip() or fallback is None else fallback

    def block(match: re.Match) -> str:
        found = lookup(match.group(1))
        return match.group(2) if found is not None and found.strip() else ""

    if "{if " in text:
        text = CONDITIONAL_RE.sub(block, text)
    return PLACEHOLDER_RE.sub(value, text)


# --- The outreach app's own placeholders ------------------------------------------------------------


def customer_name(customer: Any, language: str) -> str:
    """The name in its script's order, whatever the message's language (without honorifics: templates add 様)."""
    return person_name(customer.family_name, customer.given_name)


def _unsubscribe_url(customer: Any) -> str:
    from .outbox import unsubscribe_url  # a cycle: the outbox renders through this module

    return unsubscribe_url(customer.pk)


def register_outreach_placeholders() -> None:
    # customer_name depends on the message's language, so render() handles it; func is the fallback.
    register("customer_name", _("Customer's name (in the right order)"), lambda c: c.display_name)
    register("given_name", _("Given name"), lambda c: c.given_name)
    register("family_name", _("Family name"), lambda c: c.family_name)
    register("shop_name", _("Shop name"), lambda c: settings.TSUNAGU_SHOP_NAME)
    register("unsubscribe_url", _("Unsubscribe link"), _unsubscribe_url)
