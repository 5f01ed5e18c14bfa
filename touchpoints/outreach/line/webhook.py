"""``/line/webhook/``: LINE's webhook. The signature is checked before anything is parsed; the events are stored
once and answered at once, the work is done by a task (``line_events_process_task``). Nothing else happens here:
one INSERT, one publish (the benchmark holds it under 20 ms at p95, tests/benchmarks/bench_line.py)."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from linebot.v3.webhook import SignatureValidator

from .events import line_events_store

logger = logging.getLogger(__name__)

BODY_MAX = 1_000_000


def _publish(ids: list[int]) -> None:
    from ..tasks import line_events_process_task  # a cycle: the tasks import this package

    try:
        line_events_process_task.apply_async(args=[ids], retry=True, retry_policy={"max_retries": 2})
    except Exception:  # the periodic job processes what is left
        logger.exception("LINE: could not publish the processing of %d event(s)", len(ids))


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    secret = settings.LINE_CHANNEL_SECRET
    if not secret:
        return HttpResponseNotFound()
    signature = request.headers.get("x-line-signature", "")
    body = request.body
    if not signature or len(body) > BODY_MAX:
        return HttpResponseBadRequest("bad signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return HttpResponseBadRequest("bad signature")
    if not SignatureValidator(secret).validate(text, signature):  # hmac.compare_digest: constant time
        logger.warning("LINE: webhook with a bad signature refused")
        return HttpResponseBadRequest("bad signature")
    try:
        payload = json.loads(text)
        events = payload["events"]
        if not isinstance(events, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest("bad body")
    # One statement in autocommit (its own transaction: no BEGIN/COMMIT round trips of an atomic block); the task
    # is published once the rows are committed (at once here; at the outer commit if a caller wraps this).
    ids = line_events_store(events)
    if ids:
        transaction.on_commit(lambda: _publish(ids))
    return HttpResponse(status=200)
