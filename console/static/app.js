/* 清朗 console: vanilla JS, no build step, nothing from the internet. */
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    if (m && m.content) return m.content;
    var c = document.cookie.match(/(?:^|; )qinglang_csrf=([^;]*)/);
    return c ? decodeURIComponent(c[1]) : "";
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.message || ("HTTP " + r.status)); e.hint = data.hint; throw e; }
        return data;
      });
    });
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);  /* never innerHTML with data */
    return n;
  }

  function fmtTime(iso) {
    try {
      var d = new Date(iso);
      return d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }).replace(/\//g, "-");
    } catch (e) { return iso; }
  }

  function isTyping(ev) {
    var t = ev.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  document.addEventListener("click", function (ev) {
    var back = ev.target.closest && ev.target.closest("[data-back]");
    if (back && history.length > 1) { ev.preventDefault(); history.back(); }
  });

  /* ---------------------------------------------------------------- alert list */
  function alertList(table) {
    var labels = JSON.parse(document.getElementById("labels").textContent);
    var filters = JSON.parse(table.dataset.filters || "{}");
    var canAct = table.dataset.canAct === "1";
    var tbody = table.tBodies[0];
    var live = document.getElementById("live");
    var sound = document.getElementById("sound-on");
    var beep = new Audio("/static/beep.wav");
    var selected = -1;

    function matches(a) {
      var map = { state: a.state, severity: a.severity, source: a.source_id, detector: a.detector,
                  list: a.list_name, category: a.category };
      for (var k in map) {
        if (filters[k] && filters[k].split(",").indexOf(map[k] || "") < 0) return false;
      }
      return true;
    }

    function row(a) {
      var tr = el("tr", "row sev-row-" + a.severity);
      tr.id = "alert-" + a.id; tr.dataset.id = a.id; tr.dataset.state = a.state; tr.tabIndex = -1;
      var sev = el("td"); sev.appendChild(el("span", "sev sev-" + a.severity, labels.sev[a.severity] || a.severity));
      tr.appendChild(sev);
      tr.appendChild(el("td", "nowrap", fmtTime(a.last_seen)));
      tr.appendChild(el("td", "", a.source_id));
      tr.appendChild(el("td", "", a.detector));
      var term = el("td"); var link = el("a", "", a.term || "—"); link.href = "/alerts/" + encodeURIComponent(a.id);
      term.appendChild(link); tr.appendChild(term);
      tr.appendChild(el("td", "", a.list_name || ""));
      tr.appendChild(el("td", "", a.category));
      tr.appendChild(el("td", "num", a.count));
      var st = el("td"); st.appendChild(el("span", "state state-" + a.state, labels.state[a.state] || a.state));
      tr.appendChild(st);
      return tr;
    }

    function upsert(a) {
      var old = document.getElementById("alert-" + a.id);
      if (!matches(a)) { if (old) old.remove(); return; }
      var tr = row(a);
      var empty = tbody.querySelector("tr.empty"); if (empty) empty.remove();
      var fresh = !old;
      if (old) { old.remove(); }
      tbody.insertBefore(tr, tbody.firstChild);
      tr.classList.add("flash-in");
      var counter = document.getElementById("alert-total");
      if (fresh && counter) counter.textContent = String(parseInt(counter.textContent || "0", 10) + 1);
      if (fresh && a.severity === "critical" && a.state === "new" && sound && sound.checked) {
        beep.currentTime = 0; beep.play().catch(function () {});
      }
      selected = -1; highlight();
    }

    function rows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr.row")); }
    function highlight() {
      rows().forEach(function (r, i) { r.classList.toggle("selected", i === selected); });
      var r = rows()[selected]; if (r) { r.focus({ preventScroll: true }); r.scrollIntoView({ block: "nearest" }); }
    }

    function act(action) {
      var r = rows()[selected]; if (!r || !canAct) return;
      var body = { action: action };
      if (action === "dismiss") { body.reason = window.prompt(labels.reason); if (!body.reason) return; }
      api("POST", "/api/alerts/" + encodeURIComponent(r.dataset.id) + "/actions", body)
        .then(upsert).catch(function (e) { window.alert(e.message + (e.hint ? "\n" + e.hint : "")); });
    }

    document.addEventListener("keydown", function (ev) {
      if (isTyping(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var n = rows().length;
      if (ev.key === "j") { selected = Math.min(n - 1, selected + 1); highlight(); }
      else if (ev.key === "k") { selected = Math.max(0, selected - 1); highlight(); }
      else if (ev.key === "Enter" && selected >= 0) { window.location = "/alerts/" + encodeURIComponent(rows()[selected].dataset.id); }
      else if (ev.key === "a") act("acknowledge");
      else if (ev.key === "e") act("escalate");
      else if (ev.key === "d") act("dismiss");
      else return;
      ev.preventDefault();
    });

    var source = new EventSource("/api/alerts/stream?since=" + encodeURIComponent(table.dataset.seq || "0"));
    source.addEventListener("open", function () { live.classList.remove("off"); live.classList.add("on"); });
    source.addEventListener("error", function () { live.classList.remove("on"); live.classList.add("off"); });
    source.addEventListener("alert", function (ev) { upsert(JSON.parse(ev.data)); });
  }

  /* ---------------------------------------------------------------- evidence */
  function evidence() {
    var fig = document.getElementById("frame");
    var img = document.getElementById("frame-img");
    var svg = document.getElementById("frame-overlay");
    function drawBox() {
      if (!fig || !fig.dataset.box || !img.naturalWidth) return;
      svg.setAttribute("viewBox", "0 0 " + img.naturalWidth + " " + img.naturalHeight);
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var poly = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
      poly.setAttribute("points", fig.dataset.box);
      poly.setAttribute("class", "ocr-box");
      svg.appendChild(poly);
    }
    if (img) { if (img.complete) drawBox(); else img.addEventListener("load", drawBox); }

    document.querySelectorAll("audio.clip, video.clip").forEach(function (m) {
      m.addEventListener("loadedmetadata", function () {
        var start = parseFloat(m.dataset.start || "0");
        if (start > 0 && start < m.duration) m.currentTime = start;
      });
    });

    var box = document.getElementById("alert-actions");
    if (!box) return;
    var msg = document.getElementById("action-msg");
    function run(action) {
      var body = { action: action };
      if (action === "dismiss") {
        var reason = document.getElementById("dismiss-reason");
        body.reason = reason.value.trim();
        if (!body.reason) { reason.focus(); reason.reportValidity(); return; }
      }
      api("POST", "/api/alerts/" + encodeURIComponent(box.dataset.id) + "/actions", body)
        .then(function () { window.location.reload(); })
        .catch(function (e) {
          msg.textContent = e.message + (e.hint ? " — " + e.hint : "");
          msg.classList.remove("hidden"); msg.classList.add("error");
        });
    }
    box.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-action]");
      if (!b) return;
      ev.preventDefault(); run(b.dataset.action);
    });
    document.addEventListener("keydown", function (ev) {
      if (isTyping(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var map = { a: "acknowledge", e: "escalate", d: "dismiss" };
      var action = map[ev.key];
      if (!action) return;
      var b = box.querySelector('button[data-action="' + action + '"]');
      if (b && !b.disabled) { ev.preventDefault(); run(action); }
    });
  }

  /* ---------------------------------------------------------------- search export */
  function exporter(link) {
    link.addEventListener("click", function (ev) {
      if (!window.ReadableStream || !window.TextDecoder) return;  /* plain download */
      ev.preventDefault();
      var status = document.getElementById("export-status");
      fetch(link.href, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        var total = parseInt(r.headers.get("X-Total-Count") || "0", 10);
        var reader = r.body.getReader(), chunks = [], lines = 0;
        function pump() {
          return reader.read().then(function (res) {
            if (res.done) return;
            chunks.push(res.value);
            for (var i = 0; i < res.value.length; i++) if (res.value[i] === 10) lines++;
            status.textContent = status.dataset.label + " " + Math.max(0, lines - 1) + " / " + total;
            return pump();
          });
        }
        return pump().then(function () {
          var url = URL.createObjectURL(new Blob(chunks, { type: "text/csv" }));
          var a = document.createElement("a"); a.href = url; a.download = "qinglang-hits.csv";
          document.body.appendChild(a); a.click(); a.remove();
          status.textContent = status.dataset.label + " ✓ " + Math.max(0, lines - 1);
          status.dataset.done = "1";
        });
      }).catch(function (e) { status.textContent = e.message; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    /* bar sizes come as data attributes: the CSP allows no inline styles */
    document.querySelectorAll("[data-h]").forEach(function (b) { b.style.height = b.dataset.h + "%"; });
    document.querySelectorAll("[data-w]").forEach(function (b) { b.style.width = b.dataset.w + "%"; });
    var table = document.getElementById("alert-table");
    if (table) alertList(table);
    if (document.body.classList.contains("alert-page")) evidence();
    var exp = document.getElementById("export-link");
    if (exp) exporter(exp);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { if (!window.confirm(f.dataset.confirm)) ev.preventDefault(); });
    });
  });
})();
