// stopscope's page script. Kept in a file of its own: the Content-Security-Policy
// allows no inline script and no inline style, so every style set here goes
// through the CSSOM (element.style), which the policy permits.
(function () {
  "use strict";

  var scopeKeys = ["range", "from", "to", "app", "environment", "model"];

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback || "#888";
  }

  // Colours come from the custom properties of vocab.css, generated from
  // the analytics vocabulary, so that a stop reason or metric has the same
  // colour in every table, badge and chart. A key is a headline metric
  // (--metric-<key>), a stop reason (--sr-<key>, also as stop_reason:<key>)
  // or the error kind; anything else is an unknown stop reason.
  function colorOf(key) {
    var root = getComputedStyle(document.documentElement);
    function prop(name) { return root.getPropertyValue(name).trim(); }
    if (key.indexOf("stop_reason:") === 0) return prop("--sr-" + key.slice(12)) || cssVar("--sr-unknown");
    return prop("--metric-" + key) || prop("--sr-" + key) || cssVar("--sr-unknown");
  }

  function alpha(color, a) {
    var m = /^#([0-9a-f]{6})$/i.exec(color);
    if (!m) return color;
    var n = parseInt(m[1], 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  // Keep the filter bar's scope when moving between pages.
  function keepScope() {
    var here = new URLSearchParams(location.search);
    var scope = new URLSearchParams();
    scopeKeys.forEach(function (k) { if (here.get(k)) scope.set(k, here.get(k)); });
    var qs = scope.toString();
    if (!qs) return;
    document.querySelectorAll("a[data-keep-scope]").forEach(function (a) {
      a.setAttribute("href", a.getAttribute("href").split("?")[0] + "?" + qs);
    });
  }

  // The filter bar submits itself on change; "Custom…" reveals from and to.
  function filterBars() {
    document.querySelectorAll("form.filterbar").forEach(function (form) {
      form.addEventListener("change", function (ev) {
        var t = ev.target;
        if (t.matches("[data-range]")) {
          var custom = form.querySelector("[data-custom-range]");
          var isCustom = t.value === "custom";
          if (custom) {
            custom.hidden = !isCustom;
            custom.querySelectorAll("input").forEach(function (i) { i.disabled = !isCustom; });
          }
          if (isCustom) { var first = custom && custom.querySelector("input"); if (first) first.focus(); return; }
        }
        if (t.matches("select")) form.requestSubmit();
      });
      form.addEventListener("submit", function () {
        // Leave empty fields out of the URL, so that shared links stay short.
        form.querySelectorAll("input, select").forEach(function (el) {
          if (el.name && el.value === "") el.disabled = true;
        });
      });
    });
  }

  // Forms marked data-drop-empty (the compare form) leave empty fields out
  // of the URL, as the filter bar does.
  function dropEmpty() {
    document.querySelectorAll("form[data-drop-empty]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input, select").forEach(function (el) {
          if (el.name && el.value === "") el.disabled = true;
        });
      });
    });
  }

  function copyButtons() {
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-copy]");
      if (!b) return;
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent).then(function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = "Copy"; }, 1500);
      }, function () { b.textContent = "Select and copy"; });
    });
  }

  // ---- charts (uPlot) ----

  function fmtTime(ts, bucket) {
    var d = new Date(ts * 1000).toISOString();
    return bucket >= 86400 ? d.slice(0, 10) : d.slice(0, 10) + " " + d.slice(11, 16) + " UTC";
  }

  // tooltip shows the values under the cursor in a box that follows it.
  function tooltip(fmt) {
    var tip;
    return {
      hooks: {
        init: function (u) {
          tip = document.createElement("div");
          tip.className = "u-tip";
          tip.hidden = true;
          u.over.appendChild(tip);
          u.over.addEventListener("mouseleave", function () { tip.hidden = true; });
        },
        setCursor: function (u) {
          var i = u.cursor.idx;
          if (i == null || u.cursor.left < 0) { tip.hidden = true; return; }
          tip.textContent = "";
          fmt(u, i).forEach(function (line, n) {
            var div = document.createElement("div");
            if (n === 0) div.className = "u-tip-head";
            if (line.color) {
              var sw = document.createElement("span");
              sw.className = "u-tip-sw";
              sw.style.background = line.color;
              div.appendChild(sw);
            }
            div.appendChild(document.createTextNode(line.text));
            tip.appendChild(div);
          });
          tip.hidden = false;
          var x = u.cursor.left + 12, w = tip.offsetWidth;
          if (x + w > u.over.clientWidth) x = u.cursor.left - w - 12;
          tip.style.left = Math.max(0, x) + "px";
          tip.style.top = Math.max(0, u.cursor.top - 10) + "px";
        }
      }
    };
  }

  // spikeBands shades the spikes over the plot, with their label as a title.
  function spikeBands(spikes) {
    return {
      hooks: {
        draw: function (u) {
          if (!spikes || !spikes.length) return;
          var ctx = u.ctx;
          ctx.save();
          spikes.forEach(function (s) {
            var c = colorOf(s.metric || "refusal");
            var x0 = u.valToPos(s.from, "x", true), x1 = u.valToPos(s.to, "x", true);
            x0 = Math.max(x0, u.bbox.left); x1 = Math.min(x1, u.bbox.left + u.bbox.width);
            if (x1 <= x0) x1 = x0 + 2;
            ctx.fillStyle = alpha(c, 0.16);
            ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
            ctx.fillStyle = c;
            ctx.fillRect(x0, u.bbox.top, x1 - x0, 4 * devicePixelRatio);
          });
          ctx.restore();
        }
      }
    };
  }

  function axes(yfmt) {
    var stroke = cssVar("--muted"), grid = cssVar("--line");
    return [
      { stroke: stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
      { stroke: stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 56, values: yfmt ? function (u, vals) { return vals.map(yfmt); } : undefined }
    ];
  }

  // chartWidth is the width the chart's box leaves it.
  function chartWidth(el) {
    var box = (el.closest("figure") || el).getBoundingClientRect().width - 22;
    return Math.max(200, Math.floor(Math.min(el.getBoundingClientRect().width || box, box)));
  }

  function baseOpts(el, height) {
    return {
      width: chartWidth(el),
      height: height,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      legend: { show: true, live: false },
      scales: { x: { time: true } }
    };
  }

  function emptyNote(el, text) {
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "muted chart-empty";
    p.textContent = text;
    el.appendChild(p);
  }

  function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) s += a[i]; return s; }

  function stackChart(el, d) {
    var layers = d.series.filter(function (s) { return s.key !== "error"; });
    if (!layers.length || !sum(layers.map(function (s) { return sum(s.values); }))) {
      emptyNote(el, "No responses in this range.");
      return null;
    }
    // Stacked areas: each layer is drawn as the running total up to it,
    // top layer first, so each lower one paints over the one above.
    var acc = [], run = d.x.map(function () { return 0; });
    layers.forEach(function (s) {
      run = run.map(function (v, i) { return v + s.values[i]; });
      acc.push(run);
    });
    var data = [d.x], series = [{ value: function (u, ts) { return ts == null ? "" : fmtTime(ts, d.bucket); } }];
    for (var i = layers.length - 1; i >= 0; i--) {
      (function (s) {
        var c = colorOf(s.key);
        data.push(acc[i]);
        series.push({
          label: s.key, stroke: c, fill: alpha(c, 0.85), width: 1, points: { show: false },
          paths: uPlot.paths.stepped({ align: 1 }),
          value: function (u, v, si, idx) { return idx == null ? "" : String(s.values[idx]); }
        });
      })(layers[i]);
    }
    var opts = baseOpts(el, 280);
    opts.series = series;
    opts.axes = axes();
    opts.scales.y = { range: function (u, min, max) { return [0, Math.max(1, max)]; } };
    opts.plugins = [spikeBands(d.spikes), tooltip(function (u, idx) {
      var lines = [{ text: fmtTime(d.x[idx], d.bucket) }], total = 0;
      for (var j = layers.length - 1; j >= 0; j--) {
        total += layers[j].values[idx];
        if (layers[j].values[idx]) lines.push({ text: layers[j].key + ": " + layers[j].values[idx], color: colorOf(layers[j].key) });
      }
      lines.splice(1, 0, { text: "calls: " + total });
      (d.spikes || []).forEach(function (s) { if (d.x[idx] + d.bucket > s.from && d.x[idx] < s.to) lines.push({ text: "⚠ " + s.label, color: colorOf(s.metric || "refusal") }); });
      return lines;
    })];
    el.textContent = "";
    return new uPlot(opts, data, el);
  }

  function errorChart(el, d) {
    var s = d.series.filter(function (x) { return x.key === "error"; })[0];
    if (!s || !sum(s.values)) { emptyNote(el, "No failed requests in this range."); return null; }
    var c = colorOf("error");
    var opts = baseOpts(el, 280);
    opts.series = [{ value: function (u, ts) { return ts == null ? "" : fmtTime(ts, d.bucket); } },
      { label: "failed", stroke: c, fill: alpha(c, 0.7), points: { show: false }, paths: uPlot.paths.bars({ size: [0.8, 40] }) }];
    opts.axes = axes();
    opts.scales.y = { range: function (u, min, max) { return [0, Math.max(1, max)]; } };
    opts.plugins = [tooltip(function (u, idx) {
      return [{ text: fmtTime(d.x[idx], d.bucket) }, { text: "failed requests: " + s.values[idx], color: c }];
    })];
    el.textContent = "";
    return new uPlot(opts, [d.x, s.values], el);
  }

  function metricChart(el, d) {
    var s = d.series[0];
    if (!s || !d.x.length) { emptyNote(el, "No data in this range."); return null; }
    var c = colorOf(s.key);
    var pct = function (v) { return v == null ? "" : (v * 100).toFixed(1) + "%"; };
    var opts = baseOpts(el, 240);
    opts.series = [{ value: function (u, ts) { return ts == null ? "" : fmtTime(ts, d.bucket); } },
      { label: "95% low", stroke: "transparent", points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return pct(v); } },
      { label: "95% high", stroke: "transparent", points: { show: false }, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return pct(v); } },
      { label: "rate", stroke: c, width: 2, points: { show: false }, value: function (u, v) { return pct(v); }, paths: uPlot.paths.stepped({ align: 1 }) }];
    opts.bands = [{ series: [2, 1], fill: alpha(c, 0.18) }];
    opts.axes = axes(pct);
    opts.scales.y = { range: function (u, min, max) { return [0, Math.min(1, Math.max(0.05, max * 1.1))]; } };
    opts.plugins = [spikeBands(d.spikes), tooltip(function (u, idx) {
      return [{ text: fmtTime(d.x[idx], d.bucket) }, { text: "rate " + pct(s.values[idx]) + " (95%: " + pct(d.low[idx]) + "–" + pct(d.high[idx]) + ")", color: c }];
    })];
    el.textContent = "";
    return new uPlot(opts, [d.x, d.low, d.high, s.values], el);
  }

  function drawCharts(box) {
    var src = box.getAttribute("data-src");
    return fetch(src, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("chart data: HTTP " + r.status);
      return r.json();
    }).then(function (d) {
      (box._plots || []).forEach(function (p) { if (p) p.destroy(); });
      box._plots = [];
      box.querySelectorAll("[data-part]").forEach(function (el) {
        var part = el.getAttribute("data-part");
        var p = part === "stack" ? stackChart(el, d) : part === "errors" ? errorChart(el, d) : metricChart(el, d);
        box._plots.push(p);
        if (p) p._el = el;
      });
      box.setAttribute("data-ready", "1");
    }).catch(function (err) {
      box.querySelectorAll("[data-part]").forEach(function (el) { emptyNote(el, "The chart could not load: " + err.message); });
    });
  }

  function charts() {
    var boxes = document.querySelectorAll("[data-chart]");
    if (!boxes.length || typeof uPlot === "undefined") return;
    boxes.forEach(function (box) {
      drawCharts(box);
      // A live range refreshes without reloading the page.
      if (box.hasAttribute("data-live")) setInterval(function () { if (!document.hidden) drawCharts(box); }, 30000);
    });
    var t;
    window.addEventListener("resize", function () {
      clearTimeout(t);
      t = setTimeout(function () {
        boxes.forEach(function (box) {
          (box._plots || []).forEach(function (p) { if (p) p.setSize({ width: chartWidth(p._el), height: p.height }); });
        });
      }, 150);
    });
  }

  function start() {
    keepScope();
    filterBars();
    dropEmpty();
    copyButtons();
    charts();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
