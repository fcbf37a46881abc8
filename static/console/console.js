// Small behaviours of the console shell. No inline scripts: the CSP allows only our own files.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-theme-choice]");
    if (button && button.tagName === "BUTTON") {
      window.haneulTheme.set(button.getAttribute("data-theme-choice"));
    }
  });
})();
