// Small behaviours of the console shell. No inline scripts: the CSP allows only our own files.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-theme-choice]");
    if (button && button.tagName === "BUTTON") {
      window.haneulTheme.set(button.getAttribute("data-theme-choice"));
    }
  });

  // Destructive actions: a form with data-confirm asks in the page's one <dialog> before it submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm") || form.dataset.confirmed === "1") {
      return;
    }
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return; // no dialog support: submit as is (the server still checks everything)
    }
    event.preventDefault();
    var submitter = event.submitter || null;
    dialog.querySelector("#confirm-dialog-title").textContent = form.getAttribute("data-confirm");
    dialog.querySelector("#confirm-dialog-detail").textContent = form.getAttribute("data-confirm-detail") || "";
    var accept = dialog.querySelector("#confirm-dialog-accept");
    accept.textContent = form.getAttribute("data-confirm-button") || accept.getAttribute("data-default-label") || accept.textContent;
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue === "confirm") {
          form.dataset.confirmed = "1";
          if (submitter && form.requestSubmit) {
            form.requestSubmit(submitter);
          } else {
            form.submit();
          }
        }
      },
      { once: true }
    );
    dialog.showModal();
  });
})();
