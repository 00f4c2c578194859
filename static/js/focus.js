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

// One tab stop per table row (its number): the arrow keys reach the row's other links
// (tabindex=-1), left and right in the row, up and down in the rows around.
document.addEventListener("keydown", function (e) {
  var k = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[e.key];
  var row = k && !(e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) && e.target.closest("table[data-row-keys] tbody tr");
  if (!row || !e.target.matches("a[href], summary")) return;
  function stops(r) {
    return r ? Array.from(r.querySelectorAll("a[href], summary")).filter(function (s) { return s.getClientRects().length; }) : [];
  }
  var i = stops(row).indexOf(e.target);
  var there = stops(k[0] > 0 ? row.nextElementSibling : k[0] < 0 ? row.previousElementSibling : row);
  var next = k[0] ? there[Math.min(i, there.length - 1)] : there[i + k[1]];
  if (next) {
    e.preventDefault();
    next.focus();
  }
});
