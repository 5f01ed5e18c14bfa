// The funnel chart: reads its figures from <script type="application/json" id="funnel-data"> (no inline script).
(function () {
  "use strict";
  var source = document.getElementById("funnel-data");
  var canvas = document.getElementById("funnel-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = ["#6c8ebf", "#82b366", "#d6b656", "#b85450"];
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ data: data.reached, backgroundColor: colours, borderRadius: 4 }],
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            afterLabel: function (context) {
              var pct = data.conversion[context.dataIndex];
              return pct === null ? "" : "→ " + pct + " %";
            },
          },
        },
      },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  canvas.setAttribute("data-ready", "true");
})();
