// "Copy link" copies the address of the view on screen: htmx keeps the address bar in step
// with the chunk, page and filters, so the link reopens exactly this view. The button is
// hidden in the page (nothing to copy with) until this script shows it.
(function () {
  "use strict";

  function legacyCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    area.remove();
    return done;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        if (!legacyCopy(text)) throw new Error("copy refused");
      });
    }
    return legacyCopy(text) ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function say(button, text) {
    var status = document.getElementById(button.dataset.copyLink);
    if (status) status.textContent = text;
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(function () { if (status) status.textContent = ""; }, 4000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-link]");
    if (!button) return;
    var url = window.location.href;
    copy(url).then(
      function () { say(button, "Copied"); },
      function () { window.prompt("Copy this link:", url); }
    );
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy-link]").forEach(function (b) { b.hidden = false; });
  });
})();
