// Small behaviours of the console shell. No inline scripts: the CSP allows only our own files.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-theme-choice]");
    if (button && button.tagName === "BUTTON") {
      window.haneulTheme.set(button.getAttribute("data-theme-choice"));
    }
  });

  // A field shown only for one choice of another field of its form: data-shown-when="<field name>=<value>".
  // Without JavaScript the field simply stays visible (the server ignores it unless that choice is made).
  function syncConditionalFields(root) {
    (root || document).querySelectorAll("[data-shown-when]").forEach(function (field) {
      var rule = field.getAttribute("data-shown-when").split("=");
      var other = field.form && field.form.elements[rule[0]];
      var wrapper = field.closest(".mb-3") || field;
      if (other) {
        wrapper.hidden = other.value !== rule[1];
      }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.form && event.target.form.querySelector("[data-shown-when]")) {
      syncConditionalFields(event.target.form);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncConditionalFields(document);
  });

  // The page's CSRF token (templates/base.html) for what the live channel sent: its fragments are rendered once for
  // everyone of a role and language, without a request, so their POST forms have no token. A form gets the page's
  // when it is submitted (before the confirmation dialog; a form that has one keeps it), and an input marked
  // data-next-here the page it was sent from ("path": without the query). htmx requests get the token as a header.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function prepareForm(form) {
    if (!form || !form.getAttribute || (form.getAttribute("method") || "").toLowerCase() !== "post") {
      return;
    }
    var token = csrfToken();
    var input = form.querySelector('input[name="csrfmiddlewaretoken"]');
    if (token && (!input || !input.value)) {
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = "csrfmiddlewaretoken";
        form.appendChild(input);
      }
      input.value = token;
    }
    form.querySelectorAll("input[data-next-here]").forEach(function (next) {
      var query = next.getAttribute("data-next-here") === "path" ? "" : window.location.search;
      next.value = window.location.pathname + query;
    });
  }
  document.addEventListener("submit", function (event) {
    prepareForm(event.target);
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token && event.detail && event.detail.headers && !event.detail.headers["X-CSRFToken"]) {
      event.detail.headers["X-CSRFToken"] = token;
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
  // "Select all on this page": a checkbox with data-select-all ticks (or clears) the rows' boxes of its form.
  document.addEventListener("change", function (event) {
    var all = event.target.closest && event.target.closest("[data-select-all]");
    if (all) {
      document.querySelectorAll('input[data-select-row][form="' + all.getAttribute("form") + '"]').forEach(function (box) {
        box.checked = all.checked;
      });
    }
  });
  // The live channel (console/live/*): htmx's ws extension keeps the socket; here only what the page shows of it.
  var RECONNECTING_CODES = [1006, 1011, 1012, 1013]; // the extension reconnects after these codes, with backoff

  function liveRoot(elt) {
    return (elt && elt.closest && elt.closest("[data-live]")) || null;
  }

  function setLiveState(root, state) {
    root.querySelectorAll("[data-live-status]").forEach(function (status) {
      status.setAttribute("data-state", state);
    });
  }

  document.addEventListener("htmx:wsConnecting", function (event) {
    var root = liveRoot(event.target);
    if (root) {
      setLiveState(root, root.hasAttribute("data-live-opened") ? "reconnecting" : "connecting");
    }
  });
  document.addEventListener("htmx:wsOpen", function (event) {
    var root = liveRoot(event.target);
    if (root) {
      if (root.hasAttribute("data-live-opened")) {
        // Back after a drop: events sent meanwhile were missed, so the parts that follow the channel reload
        // themselves (an element with data-live-refresh and hx-trigger="live-reconnected").
        root.querySelectorAll("[data-live-refresh]").forEach(function (elt) {
          htmx.trigger(elt, "live-reconnected");
        });
      }
      root.setAttribute("data-live-opened", "");
      setLiveState(root, "live");
    }
  });
  document.addEventListener("htmx:wsClose", function (event) {
    var root = liveRoot(event.target);
    var code = event.detail && event.detail.event ? event.detail.event.code : 0;
    if (root) {
      setLiveState(root, RECONNECTING_CODES.indexOf(code) >= 0 ? "reconnecting" : "offline");
    }
  });
  document.addEventListener("htmx:wsAfterMessage", function (event) {
    var root = liveRoot(event.target) || document;
    root.querySelectorAll("[data-live-limit]").forEach(function (list) {
      var limit = parseInt(list.getAttribute("data-live-limit"), 10) || 0;
      while (limit && list.children.length > limit) {
        list.removeChild(list.lastElementChild);
      }
    });
  });

  // Relative times ("2 minutes ago") stay true while a page is open; the absolute time is in their title.
  var UNITS = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  function refreshRelativeTimes() {
    if (!window.Intl || !Intl.RelativeTimeFormat) {
      return;
    }
    var format = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
    document.querySelectorAll("time[data-relative]").forEach(function (time) {
      var at = Date.parse(time.getAttribute("datetime"));
      if (isNaN(at)) {
        return;
      }
      var seconds = Math.round((at - Date.now()) / 1000);
      var text = format.format(0, "second");
      for (var i = 0; i < UNITS.length; i++) {
        if (Math.abs(seconds) >= UNITS[i][1]) {
          text = format.format(Math.round(seconds / UNITS[i][1]), UNITS[i][0]);
          break;
        }
      }
      time.textContent = text;
    });
  }
  if (document.querySelector("time[data-relative]") || document.querySelector("[data-live]")) {
    window.setInterval(refreshRelativeTimes, 30000);
  }
})();
