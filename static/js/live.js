// The poll of an active job's page says what the page holds, so that its answer brings only
// what moved (dashboard/live.py): the digest of the reason groups and filter lists the last
// answer brought (on the summary), and the count of the table the reader sees (on the table).
(function () {
  function isPoll(elt) {
    return elt && elt.id === "job-summary";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    const summary = event.detail.elt;
    if (!isPoll(summary)) {
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
  // An answer made for the view the reader has since left (they paged or filtered while it
  // was on its way) would put that view's table back: it is dropped, the next poll follows.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const config = event.detail.requestConfig;
    if (!config || !isPoll(config.elt)) {
      return;
    }
    const sentFrom = config.headers["HX-Current-URL"];
    if (sentFrom && sentFrom !== window.location.href) {
      event.detail.shouldSwap = false;
    }
  });
  // Nor does the table move under a reader working in it (a row link has focus): the first
  // page follows the job again once they leave it. The table of the job's end always comes.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    const stillRunning = event.detail.fragment && event.detail.fragment.querySelector("#failures-news");
    if (target.id === "failures" && stillRunning && target.contains(document.activeElement)) {
      event.detail.shouldSwap = false;
    }
  });
})();
