// Live counts on the dashboard and the report: an enhancement only. Without script the
// report page refreshes itself (a <noscript> refresh) and a reload always works.
(function () {
  "use strict";
  var sections = document.querySelectorAll("[data-live]");
  if (!sections.length || !window.fetch) { return; }
  function update(section) {
    fetch(section.getAttribute("data-live"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        section.querySelectorAll("[data-field]").forEach(function (el) {
          var name = el.getAttribute("data-field");
          if (name === "percent") { el.value = data.percent; el.textContent = data.percent + " %"; }
          else if (name === "progress-text") { el.textContent = data.done + " av " + data.all + " behandlet."; }
          else if (data[name] !== undefined) { el.textContent = data[name]; }
        });
        if (data.sending) { setTimeout(function () { update(section); }, 2000); }
        else { window.location.reload(); }
      })
      .catch(function () { setTimeout(function () { update(section); }, 5000); });
  }
  sections.forEach(function (section) { setTimeout(function () { update(section); }, 2000); });
})();
