// Feedback pages: select-all in the queue, bulk buttons enabled only with a selection. No inline scripts (CSP).
(function () {
  "use strict";
  function refresh(form) {
    var any = form.querySelector("input[name=ids]:checked") !== null;
    form.querySelectorAll("[data-bulk-button]").forEach(function (button) { button.disabled = !any; });
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    var form = el.form;
    if (!form || form.id !== "bulk-form") { return; }
    if (el.matches("[data-select-all]")) {
      form.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = el.checked; });
    }
    refresh(form);
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    var form = document.getElementById("bulk-form");
    if (form) { refresh(form); }
  });
})();
