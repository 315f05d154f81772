
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var picker = $("#date-picker"), flowFilter = $("#flow-filter"), textFilter = $("#text-filter");
  var pipelinePicker = $("#pipeline-picker"), kpiPeriod = $("#kpi-period");
  var statusBoxes = $$("input[name=status]");
  var figures = JSON.parse($("#report-charts").textContent);
  var plotConfig = {displaylogo: false, responsive: true,
                    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]};
  var hasPlotly = typeof window.Plotly !== "undefined";

  function filters() {
    return {
      day: picker.value,
      flow: flowFilter.value,
      statuses: statusBoxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; }),
      text: textFilter.value.trim().toLowerCase()
    };
  }

  // An element without data-statuses (a KPI row) ignores the status filter.
  function matches(el, f) {
    if (f.flow && el.dataset.flow !== f.flow) { return false; }
    if (f.text && (el.dataset.search || "").indexOf(f.text) < 0) { return false; }
    if (el.dataset.period && kpiPeriod && el.dataset.period !== kpiPeriod.value) { return false; }
    if (el.dataset.statuses === undefined) { return true; }
    return el.dataset.statuses.split(" ").some(function (s) { return f.statuses.indexOf(s) >= 0; });
  }

  function visible(el) { return !el.hidden; }

  function updateCounts(day) {
    var counts = {};
    $$("tr.pipeline-row").forEach(function (row) {
      if (row.closest("[data-day]").dataset.day === day) {
        counts[row.dataset.status] = (counts[row.dataset.status] || 0) + 1;
      }
    });
    $$("[data-count]").forEach(function (el) { el.textContent = counts[el.dataset.count] || 0; });
  }

  function showPipeline(name) {
    var figure = figures.pipelines[name];
    if (!hasPlotly || !figure) { return; }
    Plotly.react("chart-pipeline", figure.data, figure.layout, plotConfig);
  }

  function updateCharts(flow) {
    if (!hasPlotly) { return; }
    ["chart-availability", "chart-duration"].forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !el.data) { return; }
      var shown = el.data.map(function (t) { return !flow || t.meta === flow ? true : "legendonly"; });
      Plotly.restyle(el, {visible: shown});
    });
    if (!pipelinePicker) { return; }
    var options = $$("option", pipelinePicker);
    options.forEach(function (o) { o.hidden = Boolean(flow) && o.dataset.flow !== flow; });
    var current = pipelinePicker.selectedOptions[0];
    if (current && current.hidden) {
      var first = options.filter(function (o) { return !o.hidden; })[0];
      if (first) { pipelinePicker.value = first.value; showPipeline(first.value); }
    }
  }

  function apply() {
    var f = filters();
    $$("[data-day]").forEach(function (el) { el.hidden = el.dataset.day !== f.day; });
    $$(".js-filterable").forEach(function (el) { el.hidden = !matches(el, f); });
    $$(".js-group").forEach(function (group) {
      var shown = $$(".js-filterable", group).some(visible);
      group.hidden = !shown;
      $$(".js-head", group).forEach(function (head) { head.hidden = !shown; });
    });
    $$(".js-scope").forEach(function (scope) {
      var empty = $(".js-empty", scope);
      var items = $$(".js-filterable", scope);
      if (empty) { empty.hidden = items.length === 0 || items.some(visible); }
    });
    $$(".hm-cell, .hm-date").forEach(function (c) { c.classList.toggle("is-selected", c.dataset.date === f.day); });
    var option = picker.selectedOptions[0];
    if (option) { $("#shown-date").textContent = option.dataset.label; }
    $("#prev-day").disabled = picker.selectedIndex >= picker.options.length - 1;
    $("#next-day").disabled = picker.selectedIndex <= 0;
    updateCounts(f.day);
    updateCharts(f.flow);
  }

  function showDay(day) {
    if (!$$("option", picker).some(function (o) { return o.value === day; })) { return; }
    picker.value = day;
    apply();
  }

  picker.addEventListener("change", apply);
  flowFilter.addEventListener("change", apply);
  textFilter.addEventListener("input", apply);
  statusBoxes.forEach(function (b) { b.addEventListener("change", apply); });
  $("#prev-day").addEventListener("click", function () {
    if (picker.selectedIndex < picker.options.length - 1) { picker.selectedIndex += 1; apply(); }
  });
  $("#next-day").addEventListener("click", function () {
    if (picker.selectedIndex > 0) { picker.selectedIndex -= 1; apply(); }
  });
  $("#reset-filters").addEventListener("click", function () {
    flowFilter.value = "";
    textFilter.value = "";
    statusBoxes.forEach(function (b) { b.checked = true; });
    apply();
  });
  $("#heatmap").addEventListener("click", function (event) {
    var cell = event.target.closest("[data-date]");
    if (cell) { showDay(cell.dataset.date); }
  });
  if (pipelinePicker) {
    pipelinePicker.addEventListener("change", function () { showPipeline(pipelinePicker.value); });
  }
  if (kpiPeriod) { kpiPeriod.addEventListener("change", apply); }

  if (hasPlotly) {
    [["chart-availability", figures.availability], ["chart-duration", figures.duration]].forEach(function (pair) {
      if (pair[1]) { Plotly.newPlot(pair[0], pair[1].data, pair[1].layout, plotConfig); }
    });
    if (pipelinePicker && pipelinePicker.value) { showPipeline(pipelinePicker.value); }
  }
  apply();
  document.documentElement.dataset.ready = "true";
})();
