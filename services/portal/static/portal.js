// Haven portal: small enhancements only. Every page works without this file.
(function () {
  "use strict";
  // A form sends once: a double tap on a slow phone must not send it twice (the server
  // makes a resend harmless too, with each form's Idempotency-Key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit], button:not([type])");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
    // Back/forward cache: a page shown again must be usable again.
    window.addEventListener("pageshow", function () { form.dataset.sent = ""; });
  });
  // The error summary takes the focus, so a screen reader reads what to fix first.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
