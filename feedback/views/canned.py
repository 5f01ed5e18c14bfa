"""Canned responses: staff CRUD pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import CreateView, DeleteView, ListView, UpdateView

from customers.service_errors import apply_service_errors

from .. import services
from ..forms import CannedResponseForm
from ..models import CannedResponse


class CannedResponseListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "feedback.view_cannedresponse"
    template_name = "feedback/cannedresponse_list.html"
    context_object_name = "responses"

    def get_queryset(self):
        return CannedResponse.objects.all()


class CannedResponseFormMixin:
    model = CannedResponse
    form_class = CannedResponseForm
    template_name = "feedback/cannedresponse_form.html"
    success_url = reverse_lazy("feedback:canned")

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.canned_response_save(
                title=data["title"],
                body=data["body"],
                body_en=data["body_en"],
                is_active=data["is_active"],
                canned=self.object if self.object and self.object.pk else None,
                by=self.request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Canned response saved."))
        return redirect(self.success_url)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["placeholders"] = services.CANNED_PLACEHOLDERS
        return context


class CannedResponseCreateView(LoginRequiredMixin, PermissionRequiredMixin, CannedResponseFormMixin, CreateView):
    permission_required = "feedback.add_cannedresponse"

    def form_valid(self, form):
        self.object = None
        return super().form_valid(form)


class CannedResponseUpdateView(LoginRequiredMixin, PermissionRequiredMixin, CannedResponseFormMixin, UpdateView):
    permission_required = "feedback.change_cannedresponse"


class CannedResponseDeleteView(LoginRequiredMixin, PermissionRequiredMixin, DeleteView):
    permission_required = "feedback.delete_cannedresponse"
    model = CannedResponse
    template_name = "feedback/cannedresponse_confirm_delete.html"
    success_url = reverse_lazy("feedback:canned")

    def form_valid(self, form):
        services.canned_response_delete(canned=self.object, by=self.request.user)
        messages.success(self.request, _("Canned response deleted."))
        return redirect(self.success_url)
