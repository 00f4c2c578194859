// Keyboard focus across table swaps. A pager or row link that brought a new page of a table
// goes away with the old table, and focus would fall back to the top of the document: it moves
// to the new table's first line instead (the count, or the message that replaced the table),
// where a keyboard or screen-reader user goes on. Polls never move focus; controls inside
// polled regions keep it by their ids, which htmx restores.
(function () {
  "use strict";
  var regionId = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var target = event.detail.target;
    var active = document.activeElement;
    if (target && target.classList.contains("table-region") && elt.matches("a, button") &&
        active && target.contains(active)) {
      regionId = target.id;
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!regionId) return;
    var region = document.getElementById(regionId);
    regionId = null;
    var active = document.activeElement;
    if (!region || (active && active !== document.body)) return;
    var spot = region.querySelector(".count, .problem, .empty") || region;
    spot.setAttribute("tabindex", "-1");
    spot.focus();
  });
})();
