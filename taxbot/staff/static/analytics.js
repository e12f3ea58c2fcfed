/* 数据分析: draws the charts of /staff/analytics with Chart.js from the JSON the page carries. */
(function () {
  "use strict";

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) { return; }
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options);
    new window.Chart(canvas, config);
  }

  function init() {
    var source = document.getElementById("analytics-data");
    if (!source) { return; }
    var d = JSON.parse(source.textContent);
    if (!d.weeks) { return; }
    draw("chart-rates", {
      type: "line",
      data: {
        labels: d.weeks,
        datasets: [
          { label: "回答率（%）", data: d.answer_rate, borderColor: "#1e6b3a", backgroundColor: "#1e6b3a", spanGaps: true },
          { label: "转人工率（%）", data: d.handoff_rate, borderColor: "#b3261e", backgroundColor: "#b3261e", spanGaps: true }
        ]
      },
      options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } } }
    });
    draw("chart-satisfaction", {
      data: {
        labels: d.weeks,
        datasets: [
          { type: "line", label: "平均满意度（1–5）", data: d.mean_rating, yAxisID: "y", borderColor: "#1f2933", spanGaps: true },
          { type: "bar", label: "评价数", data: d.ratings, yAxisID: "count", backgroundColor: "#9aa5b1" }
        ]
      },
      options: {
        scales: {
          y: { min: 1, max: 5, position: "left" },
          count: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } }
        }
      }
    });
    draw("chart-hot", {
      type: "bar",
      data: { labels: d.hot_labels, datasets: [{ label: "提问次数", data: d.hot_counts, backgroundColor: "#b3261e" }] },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
