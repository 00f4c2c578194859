// The poll of an active job's page says what the page holds, so that its answer brings only
// what moved (dashboard/live.py): the digest of the reason groups and filter lists the last
// answer brought (on the summary), and the count of the table the reader sees (on the table).
(function () {
  document.addEventListener("htmx:configRequest", function (event) {
    const summary = event.detail.elt;
    if (summary.id !== "job-summary") {
      return;
    }
    if (summary.dataset.lists) {
      event.detail.parameters.lists = summary.dataset.lists;
    }
    const table = document.getElementById("failures");
    if (table && table.dataset.seen) {
      event.detail.parameters.seen = table.dataset.seen;
    }
  });
})();
