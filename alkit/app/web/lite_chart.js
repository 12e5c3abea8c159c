// alkit lite chart: a Streamlit custom component (components v2, no iframe, no npm) drawing simple
// plotly figures as SVG, so a dashboard page does not wait for plotly.js (4.7 MB) in a fresh tab.
//
// data: the spec built by alkit.viz.lite.lite_spec (see there for what it holds):
//   title, height, barmode, bargap, legend {orientation, show},
//   panels [{domain, title, x: axis, y: axis}], axis {title, range, tickformat, dtick, tick0,
//   showticklabels, grid, tozero, categories}, traces [scatter | bar, each with panel, name, x, y,
//   colours, ...], shapes [lines; xdom / ydom: that end is in axis-domain units 0..1].
// Hover shows every trace's value at the x nearest the cursor (plotly's "x unified"); a legend
// click hides or shows that trace and its legendgroup. Nothing goes back to Python.
// The root is exactly data.height CSS px tall (title, plot and legend inside): mount with that height.

const SVGNS = "http://www.w3.org/2000/svg";
const MINUS = "\u2212";

function el(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function text(parent, x, y, s, attrs) {
  const t = el("text", { x, y, ...attrs }, parent);
  t.textContent = s;
  return t;
}

// the 1-2-5 step nearest (in ratio) to `span / target`: about `target` intervals over `span`
function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < Math.SQRT2 ? 1 : f < Math.sqrt(10) ? 2 : f < Math.sqrt(50) ? 5 : 10) * mag;
}

// decimals needed to write multiples of `step` exactly (0.25 -> 2, 5 -> 0)
function decimalsOf(step) {
  for (let d = 0; d < 10; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 10;
}

function fixed(v, d, comma) {
  const s = comma ? v.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : v.toFixed(d);
  return s.replace(/^-(?=[\d.,]*[1-9])/, MINUS).replace(/^-/, "");  // a true minus sign; no "-0"
}

// tick labels of one axis: d3-style tickformat (".1%", ".2f", "d", ",") or automatic (k / M / G past 10^4)
function tickLabels(values, axis, step) {
  const m = /^(,)?(?:\.(\d+))?([%fd])?$/.exec(axis.tickformat || "");
  const comma = !!(m && m[1]);
  if (m && m[3] === "%") return values.map((v) => fixed(v * 100, m[2] ? +m[2] : decimalsOf(step * 100), comma) + "%");
  if (m && m[3] === "f") return values.map((v) => fixed(v, m[2] ? +m[2] : 6, comma));
  if (m && m[3] === "d") return values.map((v) => fixed(Math.round(v), 0, comma));
  const big = Math.max(...values.map(Math.abs));
  const [unit, suffix] = big >= 1e9 ? [1e9, "G"] : big >= 1e6 ? [1e6, "M"] : big >= 1e4 ? [1e3, "k"] : [1, ""];
  if (step / unit < 1e-6) return values.map((v) => v.toExponential(2).replace("-", MINUS));
  return values.map((v) => fixed(v / unit, decimalsOf(step / unit), comma) + (v === 0 ? "" : suffix));
}

// one value in the hover box (a little more precise than the tick labels)
function hoverValue(v, axis) {
  const m = /^,?(?:\.(\d+))?%$/.exec(axis.tickformat || "");
  if (m) return fixed(v * 100, (m[1] ? +m[1] : 1) + 1, false) + "%";
  const a = Math.abs(v);
  const [unit, suffix] = a >= 1e9 ? [1e9, "G"] : a >= 1e6 ? [1e6, "M"] : a >= 1e4 ? [1e3, "k"] : [1, ""];
  if (unit > 1) return String(Number((v / unit).toPrecision(4))).replace("-", MINUS) + suffix;
  return String(Number(v.toPrecision(4))).replace("-", MINUS);
}

// SVG stroke-dasharray of a plotly dash name, scaled with the line width like plotly's
function dashArray(dash, width) {
  const w = Math.max(width, 2);
  return { dot: [w, w], dash: [3 * w, 3 * w], longdash: [5 * w, 5 * w], dashdot: [3 * w, w, w, w],
    longdashdot: [5 * w, 2 * w, w, 2 * w] }[dash]?.join(",");
}

function marker(parent, m, x, y) {
  const r = m.size / 2;
  const fill = m.open ? "none" : m.color;
  const stroke = m.open ? m.color : m.lineColor || "none";
  const attrs = { fill, stroke, "stroke-width": m.open ? m.lineWidth || 2 : m.lineWidth, "fill-opacity": m.opacity };
  if (m.symbol === "square") return el("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, ...attrs }, parent);
  if (m.symbol === "diamond") {
    const d = 1.3 * r;
    return el("path", { d: `M${x},${y - d}L${x + d},${y}L${x},${y + d}L${x - d},${y}Z`, ...attrs }, parent);
  }
  return el("circle", { cx: x, cy: y, r, ...attrs }, parent);
}

// the small picture in front of a legend entry
function swatch(t) {
  const s = el("svg", { width: 28, height: 14, class: "alk-lite-swatch" });
  if (t.type === "bar") {
    el("rect", { x: 7, y: 1, width: 14, height: 12, fill: Array.isArray(t.color) ? t.color[0] : t.color }, s);
    return s;
  }
  if (t.fill !== "none") el("rect", { x: 2, y: 3, width: 24, height: 8, fill: t.fillcolor || t.color, opacity: t.fillcolor ? 1 : 0.5 }, s);
  if (t.mode.includes("lines") && t.width > 0) {
    el("line", { x1: 2, x2: 26, y1: 7, y2: 7, stroke: t.color, "stroke-width": Math.min(t.width, 4),
      "stroke-dasharray": dashArray(t.dash, Math.min(t.width, 2)) }, s);
  }
  if (t.mode.includes("markers")) marker(s, { ...t.marker, size: Math.min(t.marker.size, 10) }, 14, 7);
  return s;
}

export default function (component) {
  const { data: spec, parentElement } = component;
  // remove only our previous chart: Streamlit puts the component's <style> in this element too
  for (const old of [...parentElement.children]) if (old.classList.contains("alk-lite")) old.remove();
  const root = document.createElement("div");
  root.className = "alk-lite";
  root.style.height = `${spec.height || 450}px`;
  const horizontal = spec.legend.orientation === "h";
  root.innerHTML = `<div class="alk-lite-title"></div><div class="alk-lite-body${horizontal ? " alk-lite-hlegend" : ""}">` +
    `<div class="alk-lite-plot"><div class="alk-lite-tip" hidden></div></div><div class="alk-lite-legend"></div></div>`;
  parentElement.appendChild(root);
  const titleBox = root.querySelector(".alk-lite-title");
  titleBox.textContent = spec.title || "";
  titleBox.hidden = !spec.title;
  const plot = root.querySelector(".alk-lite-plot");
  const tip = root.querySelector(".alk-lite-tip");
  const legendBox = root.querySelector(".alk-lite-legend");
  const svgEl = el("svg", { class: "alk-lite-svg" });
  plot.prepend(svgEl);

  const traces = spec.traces;
  const panels = spec.panels;
  // numeric x of every point (the category index on a categorical axis); bar rectangles, set by a draw
  const nxs = traces.map((t) => {
    const cats = panels[t.panel].x.categories;
    const at = cats ? new Map(cats.map((c, i) => [c, i])) : null;
    return t.x.map((v) => (v === null ? null : at ? at.get(v) ?? null : v));
  });
  const bars = [];
  const hidden = new Set(traces.flatMap((t, i) => (t.visible === "legendonly" ? [i] : [])));
  const groupOf = (i) => traces[i].group || `#${i}`;

  // legend: an HTML button per entry; a click toggles every trace of the entry's legendgroup
  const items = [];
  if (spec.legend.show) {
    traces.forEach((t, i) => {
      if (!t.showlegend) return;
      const item = document.createElement("button");
      item.type = "button";
      item.className = "alk-lite-legend-item";
      item.dataset.trace = String(i);
      item.appendChild(swatch(t));
      item.append(t.name);
      item.onclick = () => {
        const hide = !hidden.has(i);
        traces.forEach((_, j) => { if (groupOf(j) === groupOf(i)) (hide ? hidden.add(j) : hidden.delete(j)); });
        draw();
      };
      items.push([i, item]);
    });
  }
  // stacked bars: the legend lists the top of the stack first, as plotly does
  const stacked = !horizontal && spec.barmode !== "group" && spec.barmode !== "overlay" && traces.every((t) => t.type === "bar");
  for (const [, item] of stacked ? items.slice().reverse() : items) legendBox.appendChild(item);
  legendBox.hidden = !items.length;

  let geo = [];  // per panel, after a draw: pixel box, scales and hover layer
  let measurer = null;  // a hidden tick label: text widths for the y gutter and the category spacing
  const widthOf = (s) => { measurer.textContent = s; return measurer.getComputedTextLength() || 6.4 * s.length; };

  // bar rectangles of one panel's visible bar traces, following the barmode
  function layoutBars(ids, slot) {
    const gw = slot * (1 - spec.bargap);
    const group = spec.barmode === "group";
    const pos = new Map(), neg = new Map();
    ids.forEach((i, j) => {
      const t = traces[i];
      const w = group ? gw / ids.length : gw;
      const off = group ? -gw / 2 + (j + 0.5) * w : 0;
      bars[i] = nxs[i].map((x, n) => {
        const y = t.y[n];
        if (x === null || y === null) return null;
        let base = 0;
        if (spec.barmode === "stack" || spec.barmode === "relative") {
          const acc = spec.barmode === "relative" && y < 0 ? neg : pos;
          base = acc.get(x) || 0;
          acc.set(x, base + y);
        }
        return { x0: x + off - w / 2, x1: x + off + w / 2, xc: x + off, y0: base, y1: base + y };
      });
    });
  }

  // the data range of one axis: explicit, or the visible data padded by `pad` of its span; an end set by
  // a `hard` value (a bar's base, rangemode "tozero") is not padded, as in plotly
  function range(axis, vals, pad, hard) {
    if (axis.range) return axis.range;
    if (axis.tozero) hard = hard.concat([0]);
    let lo = Infinity, hi = -Infinity;  // a loop, not Math.min(...): arrays may be long
    for (const v of vals.concat(hard)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (lo > hi) return [-1, 1];
    if (hi === lo) return [lo - (Math.abs(lo) * 0.1 || 1), hi + (Math.abs(hi) * 0.1 || 1)];
    const p = pad * (hi - lo);
    return [hard.includes(lo) ? lo : lo - p, hard.includes(hi) ? hi : hi + p];
  }

  function ticks(axis, lo, hi, px, spacing) {
    if (axis.categories) {
      const n = axis.categories.length;
      // label every k-th category, k the least for which neighbouring labels do not overlap
      const w = axis.categories.map(widthOf);
      const need = Math.max(0, ...w.slice(1).map((v, i) => (v + w[i]) / 2 + 4));
      const every = Math.max(1, Math.ceil(need / (px / Math.max(1, hi - lo))));
      const vals = [];
      for (let i = 0; i < n; i += every) if (i >= lo && i <= hi) vals.push(i);
      return { vals, labels: vals.map((i) => axis.categories[i]) };
    }
    let step = axis.dtick || niceStep(hi - lo, px / spacing);
    if ((hi - lo) / step > 200) step = niceStep(hi - lo, px / spacing);
    const vals = [];
    for (let k = Math.ceil((lo - axis.tick0) / step - 1e-9); ; k++) {
      const v = axis.tick0 + k * step;
      if (v > hi + step * 1e-9) break;
      vals.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return { vals, labels: tickLabels(vals, axis, step) };
  }

  function draw() {
    const W = Math.max(160, plot.clientWidth || 600), H = Math.max(100, plot.clientHeight || 300);
    svgEl.replaceChildren();
    measurer = text(svgEl, -99, -99, "", { class: "alk-lite-tick", visibility: "hidden" });
    svgEl.setAttribute("width", W);
    svgEl.setAttribute("height", H);
    tip.hidden = true;
    for (const [i, item] of items) item.classList.toggle("off", hidden.has(i));
    const anyXTitle = panels.some((p) => p.x.title), anyXTicks = panels.some((p) => p.x.showticklabels);
    const top = panels.some((p) => p.title) ? 28 : 12;
    const bottom = 8 + (anyXTicks ? 18 : 0) + (anyXTitle ? 22 : 0);
    const ph = H - top - bottom;

    // per panel: y range and ticks first (they set the left gutter), then x
    const boxes = panels.map((p, k) => {
      const ids = traces.map((_, i) => i).filter((i) => traces[i].panel === k && !hidden.has(i));
      const barIds = ids.filter((i) => traces[i].type === "bar");
      const xsAll = traces.flatMap((t, i) => (t.panel === k && t.type === "bar" ? nxs[i].filter((v) => v !== null) : []));
      const uniq = [...new Set(xsAll)].sort((a, b) => a - b);
      let slot = p.x.categories ? 1 : Infinity;
      for (let j = 1; j < uniq.length; j++) slot = Math.min(slot, uniq[j] - uniq[j - 1]);
      if (!Number.isFinite(slot)) slot = 1;
      layoutBars(barIds, slot);
      const xs = [], ys = [], yHard = [];
      let markers = false;
      for (const i of ids) {
        const t = traces[i];
        if (t.type === "bar") {
          bars[i].forEach((b, n) => {
            if (!b) return;
            xs.push(nxs[i][n] - slot / 2, nxs[i][n] + slot / 2);
            yHard.push(b.y0);
            ys.push(b.y1);
            if (t.err) ys.push(b.y1 + (t.err[n] || 0), b.y1 - ((t.errMinus || t.err)[n] || 0));
          });
        } else {
          markers = markers || t.mode.includes("markers");
          nxs[i].forEach((x, n) => { if (x !== null && t.y[n] !== null) { xs.push(x); ys.push(t.y[n]); } });
          if (t.fill === "tozeroy") yHard.push(0);
        }
      }
      for (const s of spec.shapes) {
        if (s.panel !== k) continue;
        if (!s.xdom) xs.push(s.x0, s.x1);
        if (!s.ydom) ys.push(s.y0, s.y1);
      }
      const [y0, y1] = range(p.y, ys, 0.05, yHard);
      const yt = ticks(p.y, Math.min(y0, y1), Math.max(y0, y1), ph, 50);
      const gutter = (p.y.showticklabels ? Math.max(8, ...yt.labels.map(widthOf)) + 10 : 6) +
        (p.y.title ? 22 : 0);
      return { p, k, ids, xs, markers, y0, y1, yt, gutter, slot };
    });

    const left = boxes[0].gutter, right = 14, inner = W - left - right;
    let prevEnd = 0;
    geo = boxes.map((b) => {
      const { p } = b;
      const bx0 = Math.max(left + p.domain[0] * inner, prevEnd + b.gutter);
      const bx1 = Math.max(bx0 + 20, left + p.domain[1] * inner);
      prevEnd = bx1;
      const pw = bx1 - bx0;
      const [x0, x1] = range(p.x, b.xs, b.markers ? 0.03 : 0, []);
      const xt = ticks(p.x, Math.min(x0, x1), Math.max(x0, x1), pw, 80);
      const sx = (v) => ((v - x0) / (x1 - x0)) * pw;
      const sy = (v) => ph - ((v - b.y0) / (b.y1 - b.y0)) * ph;
      const g = { ...b, bx0, pw, x0, x1, xt, sx, sy };

      // axes: gridlines, tick labels, titles (outside the clipped plot area)
      const axes = el("g", { class: "alk-lite-axes" }, svgEl);
      b.yt.vals.forEach((v, j) => {
        const y = top + sy(v);
        if (p.y.grid) el("line", { x1: bx0, x2: bx1, y1: y, y2: y, class: v === 0 ? "alk-lite-zero" : "alk-lite-grid" }, axes);
        if (p.y.showticklabels) text(axes, bx0 - 6, y + 4, b.yt.labels[j], { "text-anchor": "end", class: "alk-lite-tick" });
      });
      xt.vals.forEach((v, j) => {
        const x = bx0 + sx(v);
        if (p.x.grid && !p.x.categories) el("line", { x1: x, x2: x, y1: top, y2: top + ph, class: "alk-lite-grid" }, axes);
        if (p.x.showticklabels) text(axes, x, top + ph + 15, xt.labels[j], { "text-anchor": "middle", class: "alk-lite-tick" });
      });
      if (p.x.title) {
        text(axes, bx0 + pw / 2, H - 8, p.x.title, { "text-anchor": "middle", class: "alk-lite-axis-title" });
      }
      if (p.y.title) {
        const tx = bx0 - b.gutter + 12, ty = top + ph / 2;
        text(axes, tx, ty, p.y.title, { "text-anchor": "middle", transform: `rotate(-90 ${tx} ${ty})`, class: "alk-lite-axis-title" });
      }
      if (p.title) text(axes, bx0 + pw / 2, top - 10, p.title, { "text-anchor": "middle", class: "alk-lite-panel-title" });

      // the plot area: a nested <svg> clips to it; coordinates inside are relative to its corner
      const area = el("svg", { x: bx0, y: top, width: pw, height: ph, overflow: "hidden" }, svgEl);
      const shapes = spec.shapes.filter((s) => s.panel === b.k);
      const drawShapes = (below) => shapes.filter((s) => s.below === below).forEach((s) => {
        const X = (v) => (s.xdom ? v * pw : sx(v)), Y = (v) => (s.ydom ? ph - v * ph : sy(v));
        el("line", { x1: X(s.x0), x2: X(s.x1), y1: Y(s.y0), y2: Y(s.y1), stroke: s.color, "stroke-width": s.width,
          "stroke-dasharray": dashArray(s.dash, s.width), opacity: s.opacity }, area);
      });
      drawShapes(true);
      const pts = (i) => nxs[i].map((x, n) => (x === null || traces[i].y[n] === null ? null : [sx(x), sy(traces[i].y[n])]));
      const scat = b.ids.filter((i) => traces[i].type === "scatter");
      // fills (tonexty: down to the previous visible scatter trace of this panel, else to zero)
      scat.forEach((i, j) => {
        const t = traces[i];
        if (t.fill === "none") return;
        const own = pts(i).filter(Boolean);
        if (!own.length) return;
        let poly = own;  // toself
        if (t.fill === "tonexty" && j > 0) poly = own.concat(pts(scat[j - 1]).filter(Boolean).reverse());
        else if (t.fill !== "toself") poly = own.concat([[own[own.length - 1][0], sy(0)], [own[0][0], sy(0)]]);
        el("path", { d: "M" + poly.map((q) => q.join(",")).join("L") + "Z", fill: t.fillcolor || t.color,
          "fill-opacity": t.fillcolor ? 1 : 0.5, opacity: t.opacity, stroke: "none" }, area);
      });
      // bars with their error bars
      for (const i of b.ids.filter((i) => traces[i].type === "bar")) {
        const t = traces[i];
        const gb = el("g", { opacity: t.opacity, class: "alk-lite-bars" }, area);
        bars[i].forEach((r, n) => {
          if (!r) return;
          const ya = sy(r.y0), yb = sy(r.y1);
          el("rect", { x: sx(Math.min(r.x0, r.x1)), width: Math.abs(sx(r.x1) - sx(r.x0)), y: Math.min(ya, yb),
            height: Math.abs(ya - yb), fill: Array.isArray(t.color) ? t.color[n] : t.color, "fill-opacity": t.barOpacity,
            stroke: t.lineWidth ? t.lineColor : "none", "stroke-width": t.lineWidth }, gb);
          if (t.err) {
            const xc = sx(r.xc), e0 = sy(r.y1 - (t.errMinus || t.err)[n]), e1 = sy(r.y1 + t.err[n]);
            el("path", { d: `M${xc},${e0}V${e1}M${xc - 4},${e0}h8M${xc - 4},${e1}h8`, stroke: t.errColor,
              "stroke-width": 2, fill: "none" }, gb);
          }
        });
      }
      // lines (a null y breaks the line unless connectgaps), then markers
      for (const i of scat) {
        const t = traces[i];
        if (!t.mode.includes("lines") || t.width <= 0) continue;
        let d = "", pen = false;
        for (const q of pts(i)) {
          if (!q) { pen = pen && t.connectgaps; continue; }
          d += (pen ? "L" : "M") + q[0] + "," + q[1];
          pen = true;
        }
        if (t.fill === "toself" && d) d += "Z";
        el("path", { d, fill: "none", stroke: t.color, "stroke-width": t.width, "stroke-dasharray": dashArray(t.dash, t.width),
          "stroke-linejoin": "round", opacity: t.opacity, class: "alk-lite-line" }, area);
      }
      for (const i of scat) {
        const t = traces[i];
        if (!t.mode.includes("markers")) continue;
        const gm = el("g", { opacity: t.opacity, class: "alk-lite-markers" }, area);
        for (const q of pts(i)) if (q) marker(gm, t.marker, q[0], q[1]);
      }
      drawShapes(false);
      g.hoverLayer = el("g", { class: "alk-lite-hover" }, area);
      g.bx1 = bx1; g.top = top; g.ph = ph;
      return g;
    });
    root.dataset.ready = "1";
  }

  // hover: the x nearest the cursor in the panel under it; one row per hoverable visible trace
  function onMove(ev) {
    const r = svgEl.getBoundingClientRect();
    const px = ev.clientX - r.left, py = ev.clientY - r.top;
    const g = geo.find((q) => px >= q.bx0 - 4 && px <= q.bx1 + 4 && py >= q.top - 4 && py <= q.top + q.ph + 4);
    for (const q of geo) q.hoverLayer.replaceChildren();
    if (!g) { tip.hidden = true; return; }
    const ids = g.ids.filter((i) => traces[i].hover);
    let best = null, bestD = Infinity;
    for (const i of ids) {
      nxs[i].forEach((x, n) => {
        if (x === null || traces[i].y[n] === null) return;
        const d = Math.abs(g.bx0 + g.sx(x) - px);
        if (d < bestD) { bestD = d; best = x; }
      });
    }
    if (best === null) { tip.hidden = true; return; }
    const gx = g.sx(best);
    el("line", { x1: gx, x2: gx, y1: 0, y2: g.ph, class: "alk-lite-guide" }, g.hoverLayer);
    const cats = g.p.x.categories;
    tip.replaceChildren();
    const head = document.createElement("div");
    head.className = "alk-lite-tip-head";
    head.textContent = cats ? cats[best] : hoverValue(best, g.p.x);
    tip.appendChild(head);
    for (const i of ids) {
      const t = traces[i];
      const n = nxs[i].findIndex((x, m) => x === best && t.y[m] !== null);
      if (n < 0) continue;
      const color = Array.isArray(t.color) ? t.color[n] : t.color;
      if (t.type === "scatter") {
        el("circle", { cx: gx, cy: g.sy(t.y[n]), r: Math.max(4, t.marker.size / 2 + 2), fill: "none", stroke: color,
          "stroke-width": 2 }, g.hoverLayer);
      }
      const row = document.createElement("div");
      row.className = "alk-lite-tip-row";
      row.innerHTML = `<span class="alk-lite-tip-dot"></span><span class="alk-lite-tip-name"></span><b></b>`;
      row.firstChild.style.background = color;
      row.children[1].textContent = t.name && (ids.length > 1 || spec.legend.show) ? `${t.name}:` : "";
      let val = hoverValue(t.y[n], g.p.y);
      if (t.err && t.err[n]) val += ` ± ${hoverValue(t.err[n], g.p.y)}`;
      row.children[2].textContent = val;
      tip.appendChild(row);
    }
    tip.hidden = false;
    const x = g.bx0 + gx;
    tip.style.left = `${x + 14 + tip.offsetWidth > r.width ? Math.max(0, x - 14 - tip.offsetWidth) : x + 14}px`;
    tip.style.top = `${Math.max(0, Math.min(py - tip.offsetHeight / 2, r.height - tip.offsetHeight))}px`;
  }
  function onLeave() {
    tip.hidden = true;
    for (const q of geo) q.hoverLayer.replaceChildren();
  }

  svgEl.addEventListener("pointermove", onMove);
  svgEl.addEventListener("pointerleave", onLeave);
  let size = "";
  const ro = new ResizeObserver(() => {
    const now = `${plot.clientWidth}x${plot.clientHeight}`;
    if (now !== size) { size = now; draw(); }
  });
  ro.observe(plot);
  size = `${plot.clientWidth}x${plot.clientHeight}`;
  draw();
  // for tests and scripting: where point n of trace i is drawn (CSS px, relative to the plot box)
  root.alkScreenOf = (i, n) => {
    const g = geo[traces[i].panel];
    return [g.bx0 + g.sx(nxs[i][n]), g.top + g.sy(traces[i].y[n])];
  };

  return () => {
    ro.disconnect();
    svgEl.removeEventListener("pointermove", onMove);
    svgEl.removeEventListener("pointerleave", onLeave);
  };
}
