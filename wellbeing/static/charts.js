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
    el.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      var custom = point && point.customdata;
      if (custom && typeof custom[1] === "string" && custom[1].charAt(0) === "/") {
        window.location.assign(custom[1]);
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  });
})();
