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
  //
  // Every chart draws its buckets itself (uPlot gives the axes, the scales
  // and the cursor): bucket i spans [x[i], x[i] + bucket), so the last one
  // has its full width even while it is still filling. A bucket that holds
  // only part of its time (it starts before the range or ends after it: on
  // a live range, the current one) is drawn lighter over a hatched column
  // and called partial in the legend and the tooltip. uPlot's x values are
  // the buckets' middles, so that the cursor picks the bucket under it.

  var DAY = 86400, HOUR = 3600;

  function fmtTime(ts, bucket) {
    var d = new Date(ts * 1000).toISOString();
    return bucket >= DAY ? d.slice(0, 10) : d.slice(0, 10) + " " + d.slice(11, 16) + " UTC";
  }

  function bucketName(b) { return b >= DAY ? "1-day" : b >= HOUR ? "1-hour" : "1-minute"; }
  function perBucket(b) { return b >= DAY ? "per day" : b >= HOUR ? "per hour" : "per minute"; }

  function partial(d, i) { return d.x[i] < d.from || d.x[i] + d.bucket > d.to; }

  // bucketHead is the tooltip's first line: the bucket, and whether it is partial.
  function bucketHead(d, i) {
    var t = fmtTime(d.x[i], d.bucket);
    if (d.x[i] + d.bucket > d.to) return { text: t + " (partial: until " + fmtTime(d.to, HOUR) + ")" };
    if (d.x[i] < d.from) return { text: t + " (partial: from " + fmtTime(d.from, HOUR) + ")" };
    return { text: t };
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

  // hatch is a diagonal-line pattern for partial buckets.
  function hatch(ctx, color) {
    var s = Math.round(6 * devicePixelRatio), c = document.createElement("canvas");
    c.width = c.height = s;
    var g = c.getContext("2d");
    g.strokeStyle = color;
    g.lineWidth = Math.max(1, devicePixelRatio);
    g.beginPath(); g.moveTo(0, s); g.lineTo(s, 0); g.stroke();
    return ctx.createPattern(c, "repeat");
  }

  // span is where bucket i lies on the canvas, in device pixels.
  function span(u, d, i) {
    var a = u.valToPos(d.x[i], "x", true), b = u.valToPos(d.x[i] + d.bucket, "x", true);
    a = Math.max(a, u.bbox.left); b = Math.min(b, u.bbox.left + u.bbox.width);
    return { a: a, w: Math.max(b - a, devicePixelRatio) };
  }

  // record notes, on the chart's element, the box drawn for the last
  // bucket in CSS pixels of the canvas (the browser test reads it).
  function record(el, d, i, box) {
    if (i !== d.x.length - 1) return;
    var r = devicePixelRatio;
    el.setAttribute("data-last-bucket", JSON.stringify({
      x: box.x / r, y: box.y / r, w: box.w / r, h: box.h / r, partial: partial(d, i)
    }));
  }

  // partialColumns hatches the columns of the partial buckets.
  function partialColumns(u, d) {
    var ctx = u.ctx, pat = null;
    for (var i = 0; i < d.x.length; i++) {
      if (!partial(d, i)) continue;
      pat = pat || hatch(ctx, alpha(cssVar("--muted"), 0.35));
      var s = span(u, d, i);
      ctx.fillStyle = pat;
      ctx.fillRect(s.a, u.bbox.top, s.w, u.bbox.height);
    }
  }

  // bars draws stacked bars, one per bucket: layers are [{key, values}]
  // from the bottom up.
  function bars(el, d, layers) {
    return function (u) {
      var ctx = u.ctx, r = devicePixelRatio;
      el.removeAttribute("data-last-bucket");
      ctx.save();
      partialColumns(u, d);
      for (var i = 0; i < d.x.length; i++) {
        var s = span(u, d, i), gap = s.w > 6 * r ? r : 0, base = 0, top = null, bottom = null;
        layers.forEach(function (l) {
          var v = l.values[i];
          if (!v) return;
          var y0 = u.valToPos(base, "y", true), y1 = u.valToPos(base + v, "y", true);
          // Even one call among thousands stays visible: at least 1 px.
          if (y0 - y1 < r) y1 = y0 - r;
          ctx.fillStyle = alpha(colorOf(l.key), partial(d, i) ? 0.5 : 0.88);
          ctx.fillRect(s.a, y1, s.w - gap, y0 - y1);
          base += v;
          if (bottom == null) bottom = y0;
          top = y1;
        });
        if (top != null) record(el, d, i, { x: s.a, y: top, w: s.w - gap, h: bottom - top });
      }
      ctx.restore();
    };
  }

  // markerLines draws each release marker as a dashed vertical line with
  // its label at the top; a note says when releases past the cap have none.
  // The labels drawn are noted on the chart's element (data-markers), for
  // the browser test.
  function markerLines(el, d) {
    return function (u) {
      var ms = d.markers || [], drawn = [];
      el.setAttribute("data-markers", "[]");
      if (!ms.length && !d.other_releases) return;
      var ctx = u.ctx, px = devicePixelRatio;
      ctx.save();
      ctx.strokeStyle = cssVar("--muted");
      ctx.fillStyle = cssVar("--muted");
      ctx.lineWidth = px;
      ctx.setLineDash([4 * px, 3 * px]);
      ctx.font = (11 * px) + "px sans-serif";
      ms.forEach(function (m) {
        var x = Math.round(u.valToPos(m.at, "x", true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillText(m.label, x + 3 * px, u.bbox.top + 12 * px);
        drawn.push(m.label);
      });
      el.setAttribute("data-markers", JSON.stringify(drawn));
      if (d.other_releases) {
        ctx.fillText("releases past the first 50 of an app are counted as (other) and not marked", u.bbox.left + 4 * px, u.bbox.top + u.bbox.height - 4 * px);
      }
      ctx.restore();
    };
  }

  // spikeBands shades the spikes over the plot, with a mark along the top.
  function spikeBands(spikes) {
    return function (u) {
      if (!spikes || !spikes.length) return;
      var ctx = u.ctx;
      ctx.save();
      spikes.forEach(function (s) {
        var c = colorOf(s.metric || "refusal");
        var x0 = u.valToPos(s.from, "x", true), x1 = u.valToPos(s.to, "x", true);
        x0 = Math.max(x0, u.bbox.left); x1 = Math.min(x1, u.bbox.left + u.bbox.width);
        if (x1 <= x0) x1 = x0 + 2;
        ctx.fillStyle = alpha(c, 0.14);
        ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
        ctx.fillStyle = c;
        ctx.fillRect(x0, u.bbox.top, x1 - x0, 4 * devicePixelRatio);
      });
      ctx.restore();
    };
  }

  // timeTicks writes the time axis in UTC on a 24-hour clock, with the
  // date under the first tick and under each midnight.
  function timeTicks(u, splits, ax, space, incr) {
    var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    return splits.map(function (ts, i) {
      var t = new Date(ts * 1000), date = months[t.getUTCMonth()] + " " + t.getUTCDate();
      if (incr >= DAY) return date;
      var hm = ("0" + t.getUTCHours()).slice(-2) + ":" + ("0" + t.getUTCMinutes()).slice(-2);
      return i === 0 || hm === "00:00" ? hm + "\n" + date : hm;
    });
  }

  function fmtInt(v) { return Math.round(v).toLocaleString("en-US"); }

  // Count axes tick at whole numbers only; rate axes at round percentages.
  var countIncrs = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2500, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];
  var pctIncrs = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5];

  function pctTick(incr) {
    var dec = incr >= 0.01 ? 0 : incr >= 0.001 ? 1 : 2;
    return function (v) { return (v * 100).toFixed(dec) + "%"; };
  }

  function pct(v) { return v == null ? "" : (v * 100).toFixed(1) + "%"; }

  function axes(d, ylabel, percent) {
    var stroke = cssVar("--muted"), grid = cssVar("--line");
    var y = { stroke: stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, label: ylabel, labelSize: 18, labelFont: "12px system-ui, sans-serif", font: "12px system-ui, sans-serif" };
    if (percent) {
      y.incrs = pctIncrs;
      y.values = function (u, vals, ax, space, incr) { return vals.map(pctTick(incr)); };
      y.size = 58;
    } else {
      y.incrs = countIncrs;
      y.values = function (u, vals) { return vals.map(fmtInt); };
      y.size = function (u, vals) { return 18 + 7.5 * Math.max(2, (vals || []).reduce(function (m, v) { return Math.max(m, String(v).length); }, 0)); };
    }
    return [
      { stroke: stroke, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, label: "Time (UTC), " + bucketName(d.bucket) + " buckets", labelSize: 18, labelFont: "12px system-ui, sans-serif", font: "12px system-ui, sans-serif", values: timeTicks },
      y
    ];
  }

  // chartWidth is the width the chart's box leaves it.
  function chartWidth(el) {
    var box = (el.closest("figure") || el).getBoundingClientRect().width - 22;
    return Math.max(200, Math.floor(Math.min(el.getBoundingClientRect().width || box, box)));
  }

  // baseOpts sets up a chart whose one y series (ys) only feeds the cursor:
  // the draw hooks paint the buckets.
  function baseOpts(el, d, height, draws) {
    var last = d.x[d.x.length - 1] + d.bucket;
    return {
      width: chartWidth(el),
      height: height,
      padding: [14, 22, 0, 0],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      legend: { show: false },
      scales: { x: { time: true, range: function () { return [d.x[0], last]; } } },
      series: [{}, { paths: function () { return null; }, points: { show: false } }],
      hooks: { draw: draws }
    };
  }

  function uData(d, ys) {
    return [d.x.map(function (x) { return x + d.bucket / 2; }), ys];
  }

  function emptyNote(el, text) {
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "muted chart-empty";
    p.textContent = text;
    el.appendChild(p);
  }

  // legend writes the chart's key under it: [{text, color, kind}] where
  // kind is "box" (a filled square), "line", "dot", "band", "partial" or "spike".
  function legend(el, items) {
    var ul = document.createElement("ul");
    ul.className = "chart-legend";
    items.forEach(function (it) {
      var li = document.createElement("li"), sw = document.createElement("span");
      sw.className = "key key-" + (it.kind || "box");
      if (it.color) {
        if (it.kind === "line") sw.style.borderTopColor = it.color;
        else if (it.kind === "band") { sw.style.background = alpha(it.color, 0.22); sw.style.borderColor = it.color; }
        else if (it.kind === "spike") { sw.style.background = alpha(it.color, 0.16); sw.style.borderTopColor = it.color; }
        else sw.style.background = it.color;
      }
      li.appendChild(sw);
      li.appendChild(document.createTextNode(it.text));
      ul.appendChild(li);
    });
    el.appendChild(ul);
  }

  function extras(d, items) {
    if (d.x.some(function (x, i) { return partial(d, i); })) items.push({ kind: "partial", text: "partial bucket (still filling, or cut by the range)" });
    var seen = {};
    (d.spikes || []).forEach(function (s) {
      if (seen[s.metric]) return;
      seen[s.metric] = true;
      items.push({ kind: "spike", color: colorOf(s.metric || "refusal"), text: s.metric.replace("stop_reason:", "") + " spike (hover for details)" });
    });
    return items;
  }

  function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) s += a[i]; return s; }

  function spikeLines(d, idx) {
    var lines = [];
    (d.spikes || []).forEach(function (s) {
      if (d.x[idx] + d.bucket > s.from && d.x[idx] < s.to) lines.push({ text: "⚠ " + s.label, color: colorOf(s.metric || "refusal") });
    });
    return lines;
  }

  function stackChart(el, d) {
    var layers = d.series.filter(function (s) { return s.key !== "error"; });
    if (!layers.length || !sum(layers.map(function (s) { return sum(s.values); }))) {
      emptyNote(el, "No responses in this range.");
      return null;
    }
    var totals = d.x.map(function (x, i) { return sum(layers.map(function (l) { return l.values[i]; })); });
    var opts = baseOpts(el, d, 280, [bars(el, d, layers), spikeBands(d.spikes), markerLines(el, d)]);
    opts.axes = axes(d, "Calls " + perBucket(d.bucket));
    opts.scales.y = { range: function () { return [0, Math.max(1, Math.max.apply(null, totals))]; } };
    opts.plugins = [tooltip(function (u, idx) {
      var lines = [bucketHead(d, idx), { text: "calls: " + fmtInt(totals[idx]) }];
      for (var j = layers.length - 1; j >= 0; j--) {
        if (layers[j].values[idx]) lines.push({ text: layers[j].key + ": " + fmtInt(layers[j].values[idx]), color: colorOf(layers[j].key) });
      }
      return lines.concat(spikeLines(d, idx));
    })];
    el.textContent = "";
    var p = new uPlot(opts, uData(d, totals), el);
    legend(el, extras(d, layers.map(function (l) { return { color: colorOf(l.key), text: l.key }; })));
    return p;
  }

  function errorChart(el, d) {
    var s = d.series.filter(function (x) { return x.key === "error"; })[0];
    if (!s || !sum(s.values)) { emptyNote(el, "No failed requests in this range."); return null; }
    var c = colorOf("error");
    var opts = baseOpts(el, d, 280, [bars(el, d, [s]), markerLines(el, d)]);
    opts.axes = axes(d, "Failed requests " + perBucket(d.bucket));
    opts.scales.y = { range: function () { return [0, Math.max(1, Math.max.apply(null, s.values))]; } };
    opts.plugins = [tooltip(function (u, idx) {
      return [bucketHead(d, idx), { text: "failed requests: " + fmtInt(s.values[idx]), color: c }];
    })];
    el.textContent = "";
    var p = new uPlot(opts, uData(d, s.values), el);
    legend(el, extras(d, [{ color: c, text: "failed requests" }]));
    return p;
  }

  // rates draws a metric: where a bucket holds enough (d.interval), its
  // rate as a step with its 95% interval as a band; elsewhere its rate as a
  // dot, without a band; nothing where it holds no responses.
  function rates(el, d, c) {
    var s = d.series[0];
    return function (u) {
      var ctx = u.ctx, r = devicePixelRatio, prev = null;
      el.removeAttribute("data-last-bucket");
      ctx.save();
      partialColumns(u, d);
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      for (var i = 0; i < d.x.length; i++) {
        if (!d.n[i]) { prev = null; continue; }
        var sp = span(u, d, i), y = u.valToPos(s.values[i], "y", true), part = partial(d, i);
        if (d.interval[i]) {
          var lo = u.valToPos(d.low[i], "y", true), hi = u.valToPos(d.high[i], "y", true);
          ctx.fillStyle = alpha(c, part ? 0.12 : 0.2);
          ctx.fillRect(sp.a, hi, sp.w, Math.max(lo - hi, r));
          ctx.strokeStyle = alpha(c, part ? 0.6 : 1);
          ctx.lineWidth = 2 * r;
          ctx.beginPath();
          ctx.moveTo(sp.a, prev == null ? y : prev);
          ctx.lineTo(sp.a, y);
          ctx.lineTo(sp.a + sp.w, y);
          ctx.stroke();
          prev = y;
          record(el, d, i, { x: sp.a, y: Math.min(hi, y - r), w: sp.w, h: Math.max(lo - hi, 2 * r) });
        } else {
          var cx = sp.a + sp.w / 2, rad = (s.values[i] ? 3 : 2) * r;
          ctx.beginPath();
          ctx.arc(cx, y, rad, 0, 2 * Math.PI);
          ctx.fillStyle = part ? cssVar("--card") : c;
          ctx.fill();
          ctx.lineWidth = 1.5 * r;
          ctx.strokeStyle = c;
          ctx.stroke();
          prev = null;
          record(el, d, i, { x: cx - rad, y: y - rad, w: 2 * rad, h: 2 * rad });
        }
      }
      ctx.restore();
    };
  }

  function metricChart(el, d) {
    var s = d.series[0];
    if (!s || !d.x.length || !sum(d.n || [])) { emptyNote(el, "No responses in this range."); return null; }
    var c = colorOf(s.key), top = 0;
    d.x.forEach(function (x, i) {
      if (!d.n[i]) return;
      top = Math.max(top, s.values[i], d.interval[i] ? d.high[i] : 0);
    });
    var opts = baseOpts(el, d, 240, [rates(el, d, c), spikeBands(d.spikes), markerLines(el, d)]);
    opts.axes = axes(d, "% of responses " + perBucket(d.bucket), true);
    opts.scales.y = { range: function () { return [0, Math.min(1, Math.max(0.01, top * 1.1))]; } };
    opts.plugins = [tooltip(function (u, idx) {
      var k = Math.round(s.values[idx] * d.n[idx]), line;
      if (!d.n[idx]) line = { text: "no responses" };
      else if (d.interval[idx]) line = { text: pct(s.values[idx]) + " (" + fmtInt(k) + " of " + fmtInt(d.n[idx]) + "; 95%: " + pct(d.low[idx]) + "–" + pct(d.high[idx]) + ")", color: c };
      else line = { text: pct(s.values[idx]) + " (" + fmtInt(k) + " of " + fmtInt(d.n[idx]) + ": too few for an interval)", color: c };
      return [bucketHead(d, idx), line].concat(spikeLines(d, idx));
    })];
    el.textContent = "";
    var p = new uPlot(opts, uData(d, s.values.map(function (v, i) { return d.n[i] ? v : null; })), el);
    var items = [];
    if (d.interval.some(Boolean)) {
      items.push({ kind: "line", color: c, text: "rate" });
      items.push({ kind: "band", color: c, text: "95% interval (buckets with ≥ " + d.min_n + " responses and ≥ " + d.min_expected + " expected events)" });
    }
    if (d.interval.some(function (v, i) { return !v && d.n[i]; })) items.push({ kind: "dot", color: c, text: "rate of a bucket too small for an interval (count in the tooltip)" });
    legend(el, extras(d, items));
    return p;
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

  // initCharts draws the charts under root that are not drawn yet: those
  // of the page, and those a live part brings in when it is swapped.
  function initCharts(root) {
    if (typeof uPlot === "undefined" || !root.querySelectorAll) return;
    var boxes = root.matches && root.matches("[data-chart]") ? [root] : root.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box._init) return;
      box._init = true;
      drawCharts(box);
    });
  }

  function charts() {
    initCharts(document);
    var t;
    window.addEventListener("resize", function () {
      clearTimeout(t);
      t = setTimeout(function () {
        document.querySelectorAll("[data-chart]").forEach(function (box) {
          (box._plots || []).forEach(function (p) { if (p) p.setSize({ width: chartWidth(p._el), height: p.height }); });
        });
      }, 150);
    });
  }

  // ---- live refresh ----

  // refreshLive refreshes every live part of the page at once: the charts
  // of a range that ends now are drawn again from fresh data, and each
  // element marked data-live-fragment (the now strip on every page; on a
  // live range the headline cards, spikes, patterns and tables) gets the
  // "live" event, on which htmx fetches and swaps in its fresh copy.
  function refreshLive() {
    if (typeof uPlot !== "undefined") {
      document.querySelectorAll("[data-chart][data-live]").forEach(function (box) { drawCharts(box); });
    }
    if (typeof htmx !== "undefined") {
      document.querySelectorAll("[data-live-fragment]").forEach(function (el) { htmx.trigger(el, "live"); });
    }
  }

  // live runs refreshLive every data-live-every seconds (set by the
  // server, 30 by default) while the page is visible, and at once when the
  // page is shown again after a refresh was missed.
  function live() {
    var every = parseFloat(document.body.getAttribute("data-live-every")) || 30;
    var missed = false;
    setInterval(function () {
      if (document.hidden) { missed = true; return; }
      refreshLive();
    }, every * 1000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && missed) { missed = false; refreshLive(); }
    });
    if (typeof htmx !== "undefined") htmx.onLoad(initCharts);
  }

  function start() {
    keepScope();
    filterBars();
    dropEmpty();
    copyButtons();
    charts();
    live();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
