// One tab stop per table row: Tab goes from row to row (each row's first link), and the
// row's other links, which the markup takes out of the tab order (tabindex="-1"), are
// reached with the arrow keys: left and right within a row, up and down to the same place
// in the rows around. Tables that want this carry data-row-keys; htmx swaps bring new ones,
// and the listener sits on the document, so it needs no setting up per table.
(function () {
  "use strict";
  var STOPS = "a[href], summary";

  function stops(row) {
    return Array.prototype.filter.call(row.querySelectorAll(STOPS), function (e) {
      return e.getClientRects().length > 0;
    });
  }

  document.addEventListener("keydown", function (event) {
    var key = event.key;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (key !== "ArrowLeft" && key !== "ArrowRight" && key !== "ArrowUp" && key !== "ArrowDown") return;
    var here = event.target;
    if (!here.matches || !here.matches(STOPS)) return;
    var row = here.closest("table[data-row-keys] tbody tr");
    if (!row) return;
    var list = stops(row);
    var at = list.indexOf(here);
    var next = null;
    if (key === "ArrowRight") next = list[at + 1];
    else if (key === "ArrowLeft") next = list[at - 1];
    else {
      var other = key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      if (other) {
        var there = stops(other);
        next = there[Math.min(at, there.length - 1)];
      }
    }
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
})();
