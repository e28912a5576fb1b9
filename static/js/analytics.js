/* The staff analytics dashboard (server: analytics/consumers.py, analytics/push.py). Uses Chart.js
   (static/vendor/chart.js/). The page works without it: every figure is also in its tables. The
   socket sends {"type":"analytics.snapshot","snapshot":{...}} at once and every few seconds. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.WebSocket) return;
  var STOP_CODES = [4401, 4403];
  var MIN_DELAY = 500, MAX_DELAY = 10000;
  var delay = MIN_DELAY;
  var charts = {};
  var lang = document.documentElement.lang || undefined;
  root.setAttribute("data-snapshots", "0");

  function money(map) {
    var parts = [];
    for (var currency in map) parts.push(map[currency] + " " + currency);
    return parts.length ? parts.join(", ") : "0";
  }

  function pick(snapshot, path) {
    return path.split(".").reduce(function (value, key) { return value == null ? value : value[key]; }, snapshot);
  }

  function showFigures(snapshot) {
    root.querySelectorAll("[data-figure]").forEach(function (cell) {
      var name = cell.getAttribute("data-figure");
      var value = pick(snapshot, name);
      if (name === "revenue" || name === "average_order_value") value = money(value);
      else if (name === "cache_hit_ratio_percent") value = value == null ? "—" : value + " %";
      cell.textContent = value == null ? "—" : String(value);
    });
  }

  function showTable(name, rows, cells) {
    var body = root.querySelector('[data-table="' + name + '"] tbody');
    if (!body || !rows.length) return;
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      cells(row).forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function chart(name, config) {
    var canvas = root.querySelector('[data-chart="' + name + '"]');
    if (!canvas || !window.Chart) return null;
    if (!charts[name]) charts[name] = new window.Chart(canvas, config);
    return charts[name];
  }

  function timeLabel(iso) {
    return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  }

  function history(name, rows, currency, label) {
    var canvas = root.querySelector('[data-chart="' + name + '"]');
    if (!canvas) return;
    var line = chart(name, {
      type: "line",
      data: { labels: [], datasets: [
        { label: canvas.getAttribute("data-label-orders"), data: [], yAxisID: "orders", tension: 0.2 },
        { label: "", data: [], yAxisID: "revenue", tension: 0.2 },
      ] },
      options: { animation: false, scales: { orders: { position: "left", beginAtZero: true, ticks: { precision: 0 } },
                                             revenue: { position: "right", beginAtZero: true } } },
    });
    if (!line) return;
    line.data.labels = rows.map(function (row) { return label(row.at); });
    line.data.datasets[0].data = rows.map(function (row) { return row.orders; });
    line.data.datasets[1].label = canvas.getAttribute("data-label-revenue") + " (" + currency + ")";
    line.data.datasets[1].data = rows.map(function (row) { return Number(row.revenue[currency] || 0); });
    line.update();
  }

  function dayHourLabel(iso) {
    return new Date(iso).toLocaleString(lang, { weekday: "short", hour: "2-digit" });
  }

  function showCharts(snapshot) {
    history("per-minute", snapshot.per_minute, snapshot.chart_currency, timeLabel);
    history("per-hour", snapshot.per_hour, snapshot.chart_currency, dayHourLabel);
    var unitsCanvas = root.querySelector('[data-chart="top-units"]');
    var top = chart("top-units", {
      type: "bar",
      data: { labels: [], datasets: [{ label: unitsCanvas.getAttribute("data-label"), data: [] }] },
      options: { animation: false, indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    if (top) {
      top.data.labels = snapshot.top_by_units.map(function (row) { return row.name; });
      top.data.datasets[0].data = snapshot.top_by_units.map(function (row) { return row.units; });
      top.update();
    }
    var funnelLabels = Array.prototype.map.call(root.querySelectorAll("[data-funnel-labels] th"), function (th) {
      return th.textContent;
    });
    var funnel = chart("funnel", {
      type: "bar",
      data: { labels: funnelLabels, datasets: [{ label: "", data: [] }] },
      options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    if (funnel) {
      var f = snapshot.funnel;
      funnel.data.datasets[0].data = [f.carts_active, f.checkouts_started, f.orders_placed, f.orders_paid];
      funnel.update();
    }
  }

  function show(snapshot) {
    showFigures(snapshot);
    showTable("top_by_units", snapshot.top_by_units, function (row) { return [row.name, String(row.units)]; });
    showTable("top_by_revenue", snapshot.top_by_revenue, function (row) { return [row.name, row.revenue + " " + row.currency]; });
    showTable("low_stock", snapshot.low_stock, function (row) { return [row.name, String(row.stock)]; });
    showCharts(snapshot);
    // For tests and screenshots: how many snapshots the page has drawn.
    root.setAttribute("data-snapshots", String(Number(root.getAttribute("data-snapshots")) + 1));
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + root.getAttribute("data-live-url"));
    socket.onopen = function () { delay = MIN_DELAY; };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (error) { return; }
      if (data && data.type === "analytics.snapshot") show(data.snapshot);
    };
    socket.onclose = function (event) {
      if (STOP_CODES.indexOf(event.code) >= 0) return;
      setTimeout(connect, delay);
      delay = Math.min(MAX_DELAY, delay * 2);
    };
  }
  connect();
})();
