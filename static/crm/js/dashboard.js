// The insights charts (dashboard, cohorts, funnel card): figures read from <script type="application/json">
// elements written by json_script, never from inline script (CSP). Each chart's numbers are also in a table.
(function () {
  "use strict";
  var palette = ["#2f6fb0", "#c0392b", "#82b366", "#d6b656", "#8e6bbf", "#3aa39b", "#b85450", "#6c8ebf", "#e07b39",
                 "#5d6d7e", "#a04000", "#1e8449"];

  function read(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  function scales(spec, twoAxes) {
    var result = { y: { beginAtZero: spec.type === "bar" || twoAxes } };
    if (twoAxes) {
      result.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
    }
    return result;
  }

  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas || canvas.getAttribute("data-ready") === "true") {
      return;
    }
    var round = spec.type === "doughnut";
    var twoAxes = false;
    var datasets = spec.datasets.map(function (d, i) {
      var colour = palette[i % palette.length];
      twoAxes = twoAxes || !!d.secondary;
      return {
        label: d.label,
        data: d.data,
        yAxisID: d.secondary ? "y1" : "y",
        type: d.secondary && spec.type === "bar" ? "line" : undefined,
        borderColor: round ? "#fff" : colour,
        backgroundColor: round ? palette.slice(0, d.data.length) : colour,
        spanGaps: false,
        tension: 0.2,
        // Many buckets: no dots, unless some are empty (a week without answers), so a lone value still shows.
        pointRadius: spec.labels.length > 40 && d.data.indexOf(null) === -1 ? 0 : 2,
      };
    });
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: round || datasets.length > 1, position: "bottom" } },
        scales: round ? {} : scales(spec, twoAxes),
      },
    });
    canvas.setAttribute("data-ready", "true");
  }

  function drawFunnel(root) {
    var canvas = root.querySelector("canvas[data-funnel-chart]");
    if (!canvas) {
      return;
    }
    var data = read(canvas.getAttribute("data-funnel-chart"));
    if (!data) {
      return;
    }
    draw({
      id: canvas.id,
      type: "bar",
      labels: data.labels,
      datasets: [{ label: canvas.getAttribute("aria-label"), data: data.reached }],
    });
  }

  function drawAll() {
    if (typeof Chart === "undefined") {
      return;
    }
    (read("insights-charts") || []).forEach(draw);
    drawFunnel(document);
  }

  // Choosing dates by hand makes the period a custom one.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("#period-form [data-custom-date]")) {
      var preset = document.getElementById("id_range");
      if (preset) {
        preset.value = "custom";
      }
    }
  });
  // The funnel card arrives after the page (htmx).
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (typeof Chart !== "undefined") {
      drawFunnel(event.target);
    }
  });
  drawAll();
})();
