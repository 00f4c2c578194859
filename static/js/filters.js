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

// A filter list applies a choice when it is made, not at every key press. Arrow keys on a
// closed <select> change its value (Chromium fires `change` at once): moving through 600
// chunks would reload the table 600 times. A change made by such a key waits until Enter
// or until the list loses focus; a choice made with the mouse, or in the open list, applies
// at once. Without scripts the form's button applies the filters.
(function () {
  var KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];

  function filterSelect(target) {
    return target instanceof HTMLSelectElement && target.closest("form[data-follows-url]") ? target : null;
  }

  function apply(select) {
    delete select.dataset.unapplied;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("keydown", function (event) {
    var select = filterSelect(event.target);
    if (!select) return;
    if (event.key === "Enter") {
      if (select.dataset.unapplied) {
        event.preventDefault();
        apply(select);
      }
    } else if (KEYS.indexOf(event.key) !== -1 || (event.key.length === 1 && event.key !== " ")) {
      select.dataset.keying = "1";
    }
  }, true);
  document.addEventListener("keyup", function (event) {
    var select = filterSelect(event.target);
    if (select) delete select.dataset.keying;
  }, true);
  // Capture: stops a keyed change before htmx, which listens on the form, sees it.
  document.addEventListener("change", function (event) {
    var select = filterSelect(event.target);
    if (select && event.isTrusted && select.dataset.keying) {
      event.stopImmediatePropagation();
      select.dataset.unapplied = "1";
    }
  }, true);
  document.addEventListener("focusout", function (event) {
    var select = filterSelect(event.target);
    if (select && select.dataset.unapplied) apply(select);
  }, true);
})();
