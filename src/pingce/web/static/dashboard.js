// pingce dashboard: live progress of a running run. Served by pingce ('self' only by CSP);
// it reads a small JSON endpoint and writes text with textContent, never HTML.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress-url");
  var started = box.getAttribute("data-status");
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function show(p) {
    field("status").textContent = p.status;
    field("records").textContent = String(p.records);
    field("updated_at").textContent = p.updated_at || "";
    var body = field("tasks");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    Object.keys(p.tasks).forEach(function (task) {
      var tr = document.createElement("tr");
      var a = document.createElement("td");
      var b = document.createElement("td");
      a.textContent = task;
      b.textContent = String(p.tasks[task]);
      tr.appendChild(a); tr.appendChild(b);
      body.appendChild(tr);
    });
    var counter = document.getElementById("run-records");
    if (counter) { counter.textContent = String(p.records); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { return; }
        show(p);
        if (p.status !== started && p.status !== "running") { window.location.reload(); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
