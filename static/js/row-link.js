// A link to one row (?row=N) highlights the row on the server; this brings it into view
// when the address has no #row-N fragment to do so (typed or shortened links).
(function () {
  function show() {
    const row = document.querySelector("tr.is-target");
    if (row && !window.location.hash) {
      row.scrollIntoView({ block: "center" });
    }
  }
  document.addEventListener("DOMContentLoaded", show);
})();
