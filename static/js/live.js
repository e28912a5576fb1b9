/* Live order pages (protocol: docs/api.md, server: orders/consumers.py). No dependencies.
   The element with data-live-url names the socket; on every (re)connect the page sends
   {"type":"resync","since":N} and repairs itself from the answer, because pushes may be lost. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-url]");
  if (!root || !window.WebSocket) return;

  var STOP_CODES = [4401, 4403, 4404];
  var MIN_DELAY = 500, MAX_DELAY = 10000;
  var statusBox = document.querySelector("[data-live-status]");
  var labelsNode = document.getElementById("order-status-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};
  var reasonsNode = document.getElementById("order-reason-labels");
  var reasons = reasonsNode ? JSON.parse(reasonsNode.textContent) : {};
  var timeline = root.querySelector("[data-timeline]");
  var table = root.querySelector("[data-orders-table]");
  var lang = document.documentElement.lang || undefined;
  var isOrderPage = root.hasAttribute("data-seq");
  var lastSeq = parseInt(root.getAttribute("data-seq") || "0", 10) || 0;
  var delay = MIN_DELAY, socket = null, timer = null, stopped = false;

  function say(key) {
    if (statusBox) statusBox.textContent = key ? statusBox.getAttribute("data-text-" + key) || "" : "";
  }

  function formatDate(iso, timeOnly) {
    var date = new Date(iso);
    if (isNaN(date)) return iso;
    // A deadline ("Pay by"): the time alone, unless it falls on another day than today.
    if (timeOnly && date.toDateString() === new Date().toDateString()) {
      return date.toLocaleTimeString(lang, { timeStyle: "short" });
    }
    return date.toLocaleString(lang, { dateStyle: "medium", timeStyle: "short" });
  }

  function showWhen(container, status) {
    container.querySelectorAll("[data-show-when]").forEach(function (node) {
      node.hidden = node.getAttribute("data-show-when").split(" ").indexOf(status) < 0;
    });
  }

  function formatMoney(amount, currency) {
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency }).format(Number(amount));
    } catch (error) {
      return amount + " " + currency;
    }
  }

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    return node;
  }

  function setStatus(node, order) {
    if (!node || !order.status) return;
    // The page's labels first: they are in the page's language; the socket's are in the sender's.
    node.textContent = labels[order.status] || order.status_label || order.status;
    node.className = node.className.replace(/\bstatus-\S+/g, "").trim() + " status-" + order.status;
    node.setAttribute("data-status", order.status);
  }

  /* --- one order's page ---------------------------------------------------------- */

  function appendEvent(event) {
    if (!timeline || timeline.querySelector('[data-seq="' + event.seq + '"]')) return;
    var item = el("li", "", { "data-seq": String(event.seq) });
    var change = el("span", "", { class: "timeline-change" });
    change.appendChild(document.createTextNode(
      (event.from ? labels[event.from] || event.from : timeline.getAttribute("data-text-new")) + " \u2192 "));
    change.appendChild(el("strong", labels[event.to] || event.to));
    if (event.reason) {
      change.appendChild(document.createTextNode(": "));
      change.appendChild(el("span", reasons[event.reason] || event.reason, { class: "timeline-reason" }));
    }
    item.appendChild(change);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(el("span", timeline.getAttribute("data-text-by") + " " + event.actor, { class: "timeline-actor" }));
    item.appendChild(document.createTextNode(" "));
    item.appendChild(el("time", formatDate(event.at), { datetime: event.at }));
    var next = Array.prototype.find.call(timeline.children, function (li) {
      return parseInt(li.getAttribute("data-seq"), 10) > event.seq;
    });
    timeline.insertBefore(item, next || null);
  }

  function showOrder(order) {
    setStatus(root.querySelector("[data-order-status]"), order);
    showWhen(root, order.status);
  }

  function orderResync(message) {
    if (!message.order || !message.order.order_id) return;
    (message.events || []).forEach(appendEvent);
    showOrder(message.order);
    lastSeq = Math.max(lastSeq, message.order.seq || 0);
  }

  function orderChanged(order) {
    if (!order.seq || order.seq <= lastSeq) return;
    if (order.seq > lastSeq + 1) return send({ type: "resync", since: lastSeq }); // a push was lost
    if (order.event) appendEvent(order.event);
    showOrder(order);
    lastSeq = order.seq;
  }

  /* --- order lists: the shopper's and the staff dashboard ------------------------ */

  function buildRow(order) {
    var row = el("tr", "", { "data-order-id": order.order_id, "data-created": order.created_at,
                             "data-seq": String(order.seq || 0) });
    table.querySelectorAll("thead [data-col]").forEach(function (th) {
      var col = th.getAttribute("data-col"), cell = el("td", "", { "data-label": th.textContent });
      if (col === "number") {
        var href = table.getAttribute("data-order-url").replace("__number__", encodeURIComponent(order.number));
        cell.appendChild(el("a", order.number, { href: href }));
      } else if (col === "created") {
        cell.appendChild(el("time", formatDate(order.created_at), { datetime: order.created_at }));
      } else if (col === "email") {
        cell.textContent = order.email;
      } else if (col === "status") {
        var status = el("span", "", { class: "order-status", "data-order-status": "" });
        setStatus(status, order);
        cell.appendChild(status);
        if (order.pay_by && order.status === "pending") {
          var payBy = el("small", table.getAttribute("data-text-pay-by") + " ",
                         { class: "pay-by", "data-show-when": "pending" });
          payBy.appendChild(el("time", formatDate(order.pay_by, true), { datetime: order.pay_by }));
          cell.appendChild(document.createTextNode(" "));
          cell.appendChild(payBy);
        }
      } else if (col === "total") {
        cell.className = "num";
        cell.textContent = formatMoney(order.total, order.currency);
      }
      row.appendChild(cell);
    });
    return row;
  }

  function upsertRow(order) {
    if (!table || !order.order_id) return;
    var row = table.querySelector('tr[data-order-id="' + order.order_id + '"]');
    if (row) {
      // Two quick changes are pushed from two requests and may arrive swapped: keep the newest.
      if ((order.seq || 0) < (parseInt(row.getAttribute("data-seq") || "0", 10) || 0)) return;
      row.setAttribute("data-seq", String(order.seq || 0));
      showWhen(row, order.status);
      return setStatus(row.querySelector("[data-order-status]"), order);
    }
    var filter = root.getAttribute("data-status-filter");
    if (!root.hasAttribute("data-live-insert") || (filter && filter !== order.status)) return;
    var body = table.tBodies[0], created = Date.parse(order.created_at);
    var next = Array.prototype.find.call(body.rows, function (tr) {
      return Date.parse(tr.getAttribute("data-created")) < created;
    });
    body.insertBefore(buildRow(order), next || null);
    var limit = parseInt(root.getAttribute("data-limit") || "0", 10);
    while (limit && body.rows.length > limit) body.deleteRow(-1);
    table.hidden = false; // an empty list shows only its "no orders" note
    var empty = root.querySelector("[data-orders-empty]");
    if (empty) empty.hidden = true;
  }

  /* --- the socket ---------------------------------------------------------------- */

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function onMessage(event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    delay = MIN_DELAY; // the server answers: the connection is really up
    say("");
    if (message.type === "order.resync" && isOrderPage) orderResync(message);
    else if (message.type === "orders.resync") (message.orders || []).slice().reverse().forEach(upsertRow);
    else if (message.type === "order.changed" && message.order) {
      if (isOrderPage) orderChanged(message.order);
      else upsertRow(message.order);
    }
  }

  function connect() {
    timer = null;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.getAttribute("data-live-url"));
    socket.onopen = function () {
      send({ type: "resync", since: isOrderPage ? lastSeq : 0 });
    };
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      socket = null;
      if (stopped) return;
      if (STOP_CODES.indexOf(event.code) >= 0) {
        stopped = true;
        return say("off");
      }
      say("reconnecting");
      var wait = delay / 2 + Math.random() * (delay / 2); // jitter: clients do not all return at once
      delay = Math.min(delay * 2, MAX_DELAY);
      timer = setTimeout(connect, wait);
    };
  }

  // One date format on the page: the server's (no JavaScript) would differ from the pushed rows'.
  root.querySelectorAll("time[datetime]").forEach(function (node) {
    node.textContent = formatDate(node.getAttribute("datetime"), node.getAttribute("data-format") === "time");
  });
  window.addEventListener("pagehide", function () {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (socket) socket.close(1000);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && stopped) { // back from the bfcache: start again and resync
      stopped = false;
      delay = MIN_DELAY;
      connect();
    }
  });
  connect();
})();
