// Times as the viewer reads them. The server writes each <time datetime> in UTC, which is what
// a page without JavaScript shows; here it becomes "3 min. ago", with the exact time in the
// viewer's own time zone on hover. Runs on load, after every htmx swap and history restore,
// and every 30 s so that "just now" does not stay "just now".
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var exact = new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short"
  });
  var relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
  // [unit, its length in seconds, up to how many seconds it is the unit used]
  var UNITS = [
    ["second", 1, 60], ["minute", 60, 3600], ["hour", 3600, 86400], ["day", 86400, 86400 * 30],
    ["month", 86400 * 30, 86400 * 365], ["year", 86400 * 365, Infinity]
  ];

  function ago(date, now) {
    var seconds = (date.getTime() - now) / 1000;
    var size = Math.abs(seconds);
    if (size < 10) return relative.format(0, "second");
    for (var i = 0; i < UNITS.length; i++) {
      if (size < UNITS[i][2]) {
        return relative.format(Math.trunc(seconds / UNITS[i][1]), UNITS[i][0]);
      }
    }
  }

  function render(root) {
    var now = Date.now();
    var times = Array.from(root.querySelectorAll("time[datetime]"));
    if (root.matches && root.matches("time[datetime]")) times.push(root);
    times.forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.textContent = ago(date, now);
      el.title = exact.format(date);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { render(document); });
  // afterSwap comes in the same task as the new content, before it is painted (htmx:load
  // only after the settle delay, which would show the UTC text for a frame).
  document.addEventListener("htmx:afterSwap", function (event) { render(event.target); });
  document.addEventListener("htmx:load", function (event) { render(event.target); });
  document.addEventListener("htmx:historyRestore", function () { render(document); });
  window.addEventListener("pageshow", function () { render(document); });
  setInterval(function () { render(document); }, 30000);
})();
