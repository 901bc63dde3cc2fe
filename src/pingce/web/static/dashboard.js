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

// Column sorting for every table marked "sortable": a click on a header sorts the rows of
// that table on this page (numbers numerically, "–" and empty cells last); again reverses.
(function () {
  "use strict";
  function key(cell) {
    var text = (cell ? cell.textContent : "").trim();
    var first = text.split(/[\s\[]/)[0].replace(/[,%×]/g, "");
    var num = parseFloat(first);
    if (text === "" || text === "–" || text === "—") { return { empty: true }; }
    if (!isNaN(num) && /^[-+]?(\d|\.\d)/.test(first)) { return { num: num }; }
    return { text: text.toLowerCase() };
  }
  function compare(a, b) {
    if (a.empty || b.empty) { return (a.empty ? 1 : 0) - (b.empty ? 1 : 0); }
    if (a.num !== undefined && b.num !== undefined) { return a.num - b.num; }
    if (a.num !== undefined) { return -1; }
    if (b.num !== undefined) { return 1; }
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }
  function sortBy(table, th, index) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > index; });
    if (rows.length < 2) { return; }
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(table.querySelectorAll("th.sortable-col"), function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var keyed = rows.map(function (r, i) { return { row: r, key: key(r.cells[index]), i: i }; });
    keyed.sort(function (x, y) {
      var c = compare(x.key, y.key);
      if (x.key.empty || y.key.empty) { return c || x.i - y.i; }
      return (c * dir) || x.i - y.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) { return; }
    Array.prototype.forEach.call(head.cells, function (th, index) {
      if (th.colSpan > 1) { return; }
      th.classList.add("sortable-col");
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort by this column");
      th.addEventListener("click", function () { sortBy(table, th, index); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, th, index); } });
    });
  });
})();
