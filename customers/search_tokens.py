"""Searches that keep what was typed out of URLs (and so out of access logs, browser history and Referer headers).

A staff search form posts its text (``q``: names, emails, phones) with a hidden ``_search`` field. The middleware
below keeps the text in the session under a random token and answers with the page's URL carrying only the token
(``?s=…``): a redirect, or for htmx the results with ``HX-Push-Url``. A GET with ``s`` finds the text again, so
back/forward, sorting and "more" links (built by ``link_query``) work; a token lives TOKEN_SECONDS, a session holds
at most MAX_TOKENS, and an expired one reads as no search.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict

PRIVATE_PARAMS = ("q",)
TOKEN_PARAM = "s"  # noqa: S105 (a query parameter name, not a secret)
MARKER = "_search"
SESSION_KEY = "tsunagu_searches"
TOKEN_SECONDS = 2 * 60 * 60
MAX_TOKENS = 30


def stash(request: HttpRequest, values: dict[str, list[str]]) -> str:
    """A new token for ``values`` (the private parameters), kept in the session."""
    now = time.time()
    searches = {
        token: entry
        for token, entry in request.session.get(SESSION_KEY, {}).items()
        if now - entry["at"] < TOKEN_SECONDS
    }
    token = secrets.token_urlsafe(9)
    searches[token] = {"at": now, "values": values}
    newest = sorted(searches.items(), key=lambda item: item[1]["at"])[-MAX_TOKENS:]
    request.session[SESSION_KEY] = dict(newest)
    return token


def _lookup(request: HttpRequest, token: str) -> dict[str, list[str]] | None:
    entry = request.session.get(SESSION_KEY, {}).get(token) if hasattr(request, "session") else None
    if entry is None or time.time() - entry["at"] >= TOKEN_SECONDS:
        return None
    return entry["values"]


def _token_for(request: HttpRequest, values: dict[str, list[str]]) -> str:
    """A live token already holding ``values`` (a search typed into a URL again), so as not to write the session."""
    now = time.time()
    for token, entry in getattr(request, "session", {}).get(SESSION_KEY, {}).items():
        if entry["values"] == values and now - entry["at"] < TOKEN_SECONDS:
            return token
    return ""


def link_query(request: HttpRequest, query: QueryDict) -> QueryDict:
    """``query`` (a page's parameters, for its links) with the private parameters replaced by a token."""
    private = {name: [v for v in query.getlist(name) if v] for name in PRIVATE_PARAMS}
    private = {name: values for name, values in private.items() if values}
    query = query.copy()
    for name in PRIVATE_PARAMS:
        query.pop(name, None)
    if private:
        token = getattr(request, "search_token", "") or _token_for(request, private)
        if _lookup(request, token) != private:
            token = stash(request, private)
        query[TOKEN_PARAM] = token
    return query


def resolved_query(request: HttpRequest, query: QueryDict) -> QueryDict:
    """``query`` with its token replaced by the search it stands for (an expired one reads as no search); for a page
    that is handed a list's parameters in a form field rather than its URL."""
    if TOKEN_PARAM not in query:
        return query
    values = _lookup(request, query[TOKEN_PARAM]) or {}
    query = query.copy()
    query.pop(TOKEN_PARAM)
    for name, items in values.items():
        query.setlist(name, items)
    query._mutable = False
    return query


def _opaque_url(request: HttpRequest, params: QueryDict, token: str) -> str:
    public = [(k, v) for k in params for v in params.getlist(k) if k not in PRIVATE_PARAMS and v != ""]
    if token:
        public.append((TOKEN_PARAM, token))
    return request.path + (f"?{urlencode(public)}" if public else "")


class SearchTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and TOKEN_PARAM in request.GET:
            token = request.GET[TOKEN_PARAM]
            request.GET = resolved_query(request, request.GET)
            request.search_token = token if _lookup(request, token) else ""
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        """A search form's POST (CSRF already checked by the middleware before this one)."""
        if request.method != "POST" or MARKER not in request.POST or not hasattr(request, "session"):
            return None
        params = request.POST.copy()
        original_marker = params.get(MARKER)  # "fragment": a lookup inside a page, whose address stays
        for name in (MARKER, "csrfmiddlewaretoken"):
            params.pop(name, None)
        private = {name: [v for v in params.getlist(name) if v.strip()] for name in PRIVATE_PARAMS}
        private = {name: values for name, values in private.items() if values}
        token = stash(request, private) if private else ""
        url = _opaque_url(request, params, token)
        if not request.headers.get("HX-Request"):
            return HttpResponseRedirect(url, status=303)
        # htmx: answer the search here, as the GET of the opaque URL would, and put that URL in the address bar.
        query = QueryDict(mutable=True)
        for name in params:
            query.setlist(name, list(params.getlist(name)))
        query._mutable = False
        request.method = "GET"
        request.GET, request.POST = query, QueryDict()
        request.META["QUERY_STRING"] = url.partition("?")[2]
        request.search_token = token
        response = view_func(request, *view_args, **view_kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        if original_marker != "fragment":
            response["HX-Push-Url"] = url
        return response
