// modelops ui: a little progressive enhancement. Every page reads without it.
// - tables marked "sortable" sort by a click on a header (without a link of its own);
// - a click on a chart zooms it to the window (Escape or another click closes it);
// - points of a chart show their value near the pointer.
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var n = parseFloat(raw);
    return raw.trim() !== "" && !isNaN(n) && isFinite(raw) ? n : raw.trim().toLowerCase();
  }

  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    if (!body) return;
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (x === y) return 0;
      if (x === "") return 1;
      if (y === "") return -1;
      return (x < y ? -1 : 1) * (ascending ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(header.parentNode.cells, function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (th.querySelector("a") || th.classList.contains("nosort")) return;  // sorted by the server
      th.style.cursor = "pointer";
      th.title = "sort";
      th.addEventListener("click", function () { sortBy(table, index, th); });
    });
  });

  document.querySelectorAll("figure.zoomable").forEach(function (figure) {
    figure.addEventListener("click", function () { figure.classList.toggle("zoomed"); });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("figure.zoomed").forEach(function (f) { f.classList.remove("zoomed"); });
    }
  });

  var tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  document.body.appendChild(tip);
  document.addEventListener("mouseover", function (event) {
    var text = event.target.getAttribute && event.target.getAttribute("data-tip");
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;  // text, never markup
    tip.hidden = false;
  });
  document.addEventListener("mousemove", function (event) {
    tip.style.left = event.clientX + 12 + "px";
    tip.style.top = event.clientY + 12 + "px";
  });
})();
