// Loaded in <head> before the CSS, so the page never flashes the wrong theme.
// The choice ("auto", "light" or "dark") is kept in localStorage; "auto" follows the system.
(function () {
  "use strict";
  var KEY = "haneul.theme";
  var media = window.matchMedia("(prefers-color-scheme: dark)");
  function choice() {
    try { return localStorage.getItem(KEY) || "auto"; } catch (e) { return "auto"; }
  }
  function apply() {
    var c = choice();
    var dark = c === "dark" || (c === "auto" && media.matches);
    document.documentElement.setAttribute("data-bs-theme", dark ? "dark" : "light");
    document.documentElement.setAttribute("data-theme-choice", c);
  }
  apply();
  media.addEventListener("change", apply);
  window.haneulTheme = {
    set: function (c) {
      try { localStorage.setItem(KEY, c); } catch (e) { /* private mode: apply for this page only */ }
      apply();
    },
  };
})();
