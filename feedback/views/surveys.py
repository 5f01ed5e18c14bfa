"""The survey page customers answer on (public, by signed link), and the staff pages that send surveys and
list their answers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import Customer
from customers.pagination import Ordering, keyset_page
from customers.service_errors import apply_service_errors

from .. import services
from ..forms import SurveyAnswerForm
from ..models import Survey


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The page a survey link opens, in the customer's language. GET only shows the question (mail scanners
    follow links); the answer is a POST, accepted once. Forged, expired and answered links say so."""
    try:
        survey = services.survey_from_token(token)
    except services.SurveyLinkError as exc:
        status = 410 if exc.reason == "expired" else 404
        return render(request, "feedback/survey_invalid.html", {"reason": exc.reason}, status=status)
    language = survey.customer.preferred_language or survey.language
    with translation.override(language):
        if survey.is_answered:
            response = render(request, "feedback/survey_done.html", {"survey": survey, "already": True})
        else:
            initial = {}
            preset = request.GET.get("score", "")
            if preset.isdigit() and int(preset) in survey.scale:
                initial["score"] = int(preset)
            form = SurveyAnswerForm(request.POST or None, survey=survey, initial=initial)
            response = None
            if request.method == "POST" and form.is_valid():
                try:
                    survey, recorded = services.survey_answer(
                        survey=survey, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    response = render(request, "feedback/survey_done.html", {"survey": survey, "already": not recorded})
            if response is None:
                response = render(
                    request,
                    "feedback/survey_answer.html",
                    {"survey": survey, "form": form, "token": token},
                    status=400 if form.is_bound else 200,
                )
        response["Content-Language"] = language
        return response


@login_required
@permission_required("feedback.send_survey", raise_exception=True)
@require_POST
def survey_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send an NPS survey to one customer (from the customer page)."""
    if pk > 2**63 - 1:
        raise Http404
    customer = get_object_or_404(Customer, pk=pk)
    services.survey_create(customer=customer, kind=Survey.Kind.NPS, by=request.user, source="staff")
    messages.success(request, _("NPS survey queued for %(name)s.") % {"name": customer.display_name})
    return redirect(customer)


@login_required
@permission_required("feedback.view_survey", raise_exception=True)
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    """Survey answers, newest first, by keyset."""
    kind = request.GET.get("kind", "")
    qs = Survey.objects.answered()
    if kind in Survey.Kind.values:
        qs = qs.filter(kind=kind)
    unhappy = request.GET.get("unhappy") == "1"
    if unhappy:
        qs = qs.filter(Q(kind=Survey.Kind.NPS, score__lte=6) | Q(kind=Survey.Kind.CSAT, score__lte=2))
    page = keyset_page(
        qs.for_list(),
        Ordering("answered_at", descending=True),
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return render(
        request,
        "feedback/survey_list.html",
        {"page": page, "kind": kind, "unhappy": unhappy, "kinds": Survey.Kind.choices, "query": query.urlencode()},
    )
