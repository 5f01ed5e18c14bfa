// Outreach pages. No inline scripts (CSP): behaviour hangs on data attributes.
(function () {
  "use strict";
  // Rule form: a field marked data-show-when="trigger=touchpoint" shows only for that choice.
  function refresh(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (field) {
      var parts = field.getAttribute("data-show-when").split("=");
      var chooser = form.querySelector("[name='" + parts[0] + "']");
      var wrapper = field.closest(".mb-3") || field;
      wrapper.hidden = chooser ? chooser.value !== parts[1] : false;
    });
  }
  document.querySelectorAll("form#rule-form").forEach(function (form) {
    refresh(form);
    form.addEventListener("change", function () { refresh(form); });
  });
})();
