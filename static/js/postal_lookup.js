/* The customer form's postal code → address lookup (customers/addresses.py, Japan Post's data on the server).
   When a complete postal code is typed, the prefecture, city and town are filled in — only the empty ones, so
   nothing typed by hand is overwritten. The form works without it. */
(function () {
  "use strict";
  var form = document.getElementById("customer-form");
  if (!form || !form.dataset.postalUrl) {
    return;
  }
  var postal = form.querySelector("#id_postal_code");
  var status = document.getElementById("postal-lookup-status");
  if (!postal) {
    return;
  }
  function fill(id, value) {
    var field = form.querySelector(id);
    if (field && value && !field.value) {
      field.value = value;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  var last = "";
  function lookup() {
    var digits = postal.value.normalize("NFKC").replace(/[^0-9]/g, "");
    if (digits.length !== 7 || digits === last) {
      return;
    }
    last = digits;
    fetch(form.dataset.postalUrl + "?code=" + encodeURIComponent(digits), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (status) {
          status.textContent = result.ok ? "" : result.data.detail || "";
        }
        if (!result.ok) {
          return;
        }
        var address = result.data;
        postal.value = address.postal_code;
        fill("#id_region", address.prefecture);
        fill("#id_city", address.city);
        fill("#id_address_line1", address.town);
      })
      .catch(function () {
        /* the lookup is a convenience: the staff member types the address */
      });
  }
  postal.addEventListener("change", lookup);
  postal.addEventListener("keyup", lookup);
})();
