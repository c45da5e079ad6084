// Draws every chart on the page from its JSON block; no inline script, no network.
(function () {
  "use strict";
  function draw(el) {
    var block = document.getElementById(el.getAttribute("data-chart"));
    if (!block || !window.Plotly) { return; }
    var figure = JSON.parse(block.textContent);
    var config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"] };
    window.Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
      el.setAttribute("data-drawn", "true");
    });
    var links = figure.layout && figure.layout.meta && figure.layout.meta.row_links;
    el.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      var row = point && Array.isArray(point.pointNumber) ? point.pointNumber[0] : null;
      var link = links && row !== null ? links[row] : null;
      if (typeof link === "string" && link.charAt(0) === "/") {
        window.location.assign(link);
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  });
})();
