// Tsunagu page behaviour. Loaded on every page; no inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-autosubmit]")) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  // After htmx adds a note, clear the form.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-reset-on-success]") && event.detail.successful) {
      form.reset();
    }
  });
  // A form sent after the session ended: its fields, kept by the server (crm/accounts/timeout.py), are filled in
  // again on the page it came from, in the form that has most of them.
  var resume = document.getElementById("resume-form");
  if (resume) {
    var fields = JSON.parse(resume.textContent);
    var best = null, bestCount = 0;
    document.querySelectorAll("main form").forEach(function (form) {
      var count = Object.keys(fields).filter(function (name) { return form.elements.namedItem(name); }).length;
      if (count > bestCount) { best = form; bestCount = count; }
    });
    if (best) {
      Object.keys(fields).forEach(function (name) {
        var values = fields[name];
        Array.prototype.forEach.call(best.querySelectorAll("[name]"), function (el) {
          if (el.name !== name || el.type === "hidden" || el.type === "file" || el.type === "password") { return; }
          if (el.type === "checkbox" || el.type === "radio") {
            el.checked = values.indexOf(el.value) !== -1;
          } else if (el.multiple) {
            Array.prototype.forEach.call(el.options, function (opt) { opt.selected = values.indexOf(opt.value) !== -1; });
          } else {
            el.value = values[0];
          }
        });
      });
    }
  }
})();
