// Keep filter forms in step with the address bar. htmx swaps only the table and restores
// history from snapshots, so a select, checkbox or search box outside the table could otherwise show
// another filter than the one the table and the URL hold.
(function () {
  function sync() {
    const params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-follows-url]").forEach(function (form) {
      form.querySelectorAll("select[name]").forEach(function (select) {
        const wanted = params.get(select.name) || select.dataset.default || "";
        if (Array.from(select.options).some(function (o) { return o.value === wanted; })) {
          select.value = wanted;
        }
      });
      form.querySelectorAll("input[type=checkbox][name]").forEach(function (box) {
        box.checked = params.getAll(box.name).indexOf(box.value) !== -1;
      });
      // A search box being typed in is left alone: its own request made this URL.
      form.querySelectorAll("input[type=search][name], input[type=text][name]").forEach(function (input) {
        if (input !== document.activeElement) {
          input.value = params.get(input.name) || "";
        }
      });
    });
  }
  // A filter form's request leaves out empty fields and defaults, so that the address it
  // puts in the bar is the canonical one the server's own links use.
  document.addEventListener("htmx:configRequest", function (event) {
    const form = event.detail.elt.closest("form[data-follows-url]");
    if (!form || event.detail.verb !== "get") {
      return;
    }
    form.querySelectorAll("[name]").forEach(function (field) {
      const value = event.detail.parameters[field.name];
      if (value === "" || (field.dataset.default !== undefined && value === field.dataset.default)) {
        delete event.detail.parameters[field.name];
      }
    });
  });
  document.addEventListener("htmx:pushedIntoHistory", sync);
  document.addEventListener("htmx:historyRestore", sync);
  window.addEventListener("pageshow", sync);
})();

// A filter list applies a choice when it is made: arrow keys on a closed <select> fire
// `change` at once (Chromium), so a keyed change waits for Enter or blur; a mouse choice
// applies at once. Without scripts the form's button applies them.
(function () {
  function sel(e) {
    var t = e.target;
    return t instanceof HTMLSelectElement && t.closest("form[data-follows-url]") && t;
  }
  function apply(s) {
    delete s.dataset.wait;
    s.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("keydown", function (e) {
    var s = sel(e);
    if (!s) return;
    if (e.key === "Enter" && s.dataset.wait) {
      e.preventDefault();
      apply(s);
    } else if (/^(Arrow|Home|End|Page)|^[^ ]$/.test(e.key)) s.dataset.keyed = 1;
  }, true);
  document.addEventListener("keyup", function (e) {
    var s = sel(e);
    if (s) delete s.dataset.keyed;
  }, true);
  // Captured before htmx, which listens on the form, sees it.
  document.addEventListener("change", function (e) {
    var s = sel(e);
    if (s && e.isTrusted && s.dataset.keyed) {
      e.stopImmediatePropagation();
      s.dataset.wait = 1;
    }
  }, true);
  document.addEventListener("focusout", function (e) {
    var s = sel(e);
    if (s && s.dataset.wait) apply(s);
  }, true);
})();
