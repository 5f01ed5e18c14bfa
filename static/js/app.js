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
  // Checkbox lists marked data-filterable (the segment builder's multiple choices) get a filter box when they are
  // long: typing narrows the list; ticked boxes stay visible. Works without it (plain checkboxes, no Ctrl-click).
  function addCheckboxFilters(root) {
    var groups = {};
    root.querySelectorAll("input[type=checkbox][data-filterable]").forEach(function (box) {
      (groups[box.name] = groups[box.name] || []).push(box);
    });
    Object.keys(groups).forEach(function (name) {
      var boxes = groups[name];
      var list = boxes[0].closest("[id^=div_id_]") || boxes[0].parentNode.parentNode;
      if (boxes.length < 7 || list.querySelector("input[data-checkbox-filter]")) { return; }
      var filter = document.createElement("input");
      filter.type = "search";
      filter.className = "form-control form-control-sm mb-2";
      filter.setAttribute("data-checkbox-filter", name);
      filter.setAttribute("aria-label", boxes[0].getAttribute("data-filter-label") || "Filter");
      filter.placeholder = boxes[0].getAttribute("data-filter-label") || "";
      var label = list.querySelector("label, legend");
      (label && label.parentNode === list ? label : list.firstChild).after(filter);
      filter.addEventListener("input", function () {
        var q = filter.value.trim().toLowerCase();
        boxes.forEach(function (box) {
          var row = box.closest(".form-check") || box.parentNode;
          var text = row.textContent.trim().toLowerCase();
          row.hidden = !(box.checked || !q || text.indexOf(q) !== -1);
        });
      });
    });
  }
  addCheckboxFilters(document);
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
