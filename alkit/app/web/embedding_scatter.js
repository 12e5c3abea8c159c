// alkit embedding scatter: a Streamlit custom component (components v2, no iframe, no npm).
//
// Draws up to tens of thousands of points on one <canvas>; hovering a point shows its image (cut
// from one sprite sheet sent with the data), pool index, class, status and score; a click picks
// one point, a drag draws a lasso that picks every point inside; the wheel zooms, a double-click
// resets the view. The picked pool indices go back to Python as the state value "picked".
//
// data (built by alkit.viz.embedding.scatter_payload):
//   x, y: coordinates; index: pool indices; group: index into groups, per point (a pool item may
//   appear once per group it belongs to); groups: [{name, color (fill or null), size (px),
//   symbol ("circle" | "diamond" | "square" | "triangle" | "x"), opacity, outline (colour or null),
//   outline_width, pickable}], drawn in this order (the last on top);
//   label: class per point (-1 unknown); score: number or null; classes: class names;
//   sprite: "data:image/png;base64,..." or null; tile: sprite cell size in px; cols: cells per row;
//   n_images: points 0..n_images-1 have a sprite cell; background: {src, x0, x1, y0, y1} or null
//   (an image under the points, e.g. a model's decision regions); height: canvas height in CSS px;
//   title: caption over the chart; picked: pool indices to ring.

const HIT_PX = 9;

function symbolPath(ctx, symbol, x, y, r) {
  if (symbol === "diamond") {
    ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath();
  } else if (symbol === "square") {
    ctx.rect(x - r * 0.85, y - r * 0.85, 1.7 * r, 1.7 * r);
  } else if (symbol === "triangle") {
    ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + 0.8 * r); ctx.lineTo(x - r, y + 0.8 * r); ctx.closePath();
  } else if (symbol === "x") {
    ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
  } else {
    ctx.moveTo(x + r, y); ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
}

function fmtScore(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return "–";
  return Math.abs(s) >= 1e4 || (Math.abs(s) < 1e-3 && s !== 0) ? s.toExponential(3) : s.toPrecision(4);
}

function insidePolygon(px, py, poly) {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export default function (component) {
  const { data, setStateValue, parentElement } = component;
  const n = data.x.length;
  // remove only our previous drawing: Streamlit puts the component's <style> in this element too
  for (const old of [...parentElement.children]) if (old.classList.contains("alk-root")) old.remove();
  const root = document.createElement("div");
  root.className = "alk-root";
  root.dataset.points = String(n);
  root.innerHTML =
    `<div class="alk-title"></div><div class="alk-legend"></div>` +
    `<div class="alk-stage"><canvas class="alk-canvas"></canvas>` +
    `<div class="alk-tip" hidden><canvas class="alk-thumb" width="84" height="84"></canvas>` +
    `<div class="alk-tip-text"></div></div></div>` +
    `<div class="alk-help">hover: image · click: pick one · drag: lasso · wheel: zoom · double-click: reset</div>`;
  parentElement.appendChild(root);
  root.querySelector(".alk-title").textContent = data.title || "";
  const stage = root.querySelector(".alk-stage");
  const canvas = root.querySelector(".alk-canvas");
  const tip = root.querySelector(".alk-tip");
  const thumb = root.querySelector(".alk-thumb");
  const tipText = root.querySelector(".alk-tip-text");
  const ctx = canvas.getContext("2d");
  const height = data.height || 560;
  stage.style.height = `${height}px`;

  const groups = data.groups;
  const G = groups.length;
  const visible = groups.map(() => true);
  const picked = new Set(data.picked || []);
  let sprite = null;
  if (data.sprite) {
    sprite = new Image();
    sprite.src = data.sprite;
  }
  let background = null;
  if (data.background) {
    background = new Image();
    background.onload = () => draw();
    background.src = data.background.src;
  }

  // data bounds with a 4 % margin; view = [x0, x1, y0, y1]
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, data.x[i]); maxX = Math.max(maxX, data.x[i]);
    minY = Math.min(minY, data.y[i]); maxY = Math.max(maxY, data.y[i]);
  }
  if (data.background) {
    const b = data.background;
    minX = Math.min(minX, b.x0); maxX = Math.max(maxX, b.x1); minY = Math.min(minY, b.y0); maxY = Math.max(maxY, b.y1);
  }
  if (!(maxX > minX)) { minX -= 1; maxX += 1; }
  if (!(maxY > minY)) { minY -= 1; maxY += 1; }
  const pad = data.background ? 0 : 0.04;
  const padX = pad * (maxX - minX), padY = pad * (maxY - minY);
  const home = [minX - padX, maxX + padX, minY - padY, maxY + padY];
  let view = home.slice();
  let width = 0;
  const sx = new Float32Array(n), sy = new Float32Array(n);

  function project() {
    const w = width, h = height;
    for (let i = 0; i < n; i++) {
      sx[i] = ((data.x[i] - view[0]) / (view[1] - view[0])) * w;
      sy[i] = h - ((data.y[i] - view[2]) / (view[3] - view[2])) * h;
    }
  }

  let hover = -1;
  let lasso = null;

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (background && background.complete && background.naturalWidth > 0) {
      const b = data.background;
      const left = ((b.x0 - view[0]) / (view[1] - view[0])) * width;
      const right = ((b.x1 - view[0]) / (view[1] - view[0])) * width;
      const top = height - ((b.y1 - view[2]) / (view[3] - view[2])) * height;
      const bottom = height - ((b.y0 - view[2]) / (view[3] - view[2])) * height;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(background, left, top, right - left, bottom - top);
    }
    for (let g = 0; g < G; g++) {
      if (!visible[g]) continue;
      const grp = groups[g];
      const r = grp.size / 2;
      ctx.globalAlpha = grp.opacity === undefined || grp.opacity === null ? 1 : grp.opacity;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (data.group[i] === g) symbolPath(ctx, grp.symbol, sx[i], sy[i], r);
      }
      if (grp.color && grp.symbol !== "x") { ctx.fillStyle = grp.color; ctx.fill(); }
      const stroke = grp.symbol === "x" ? (grp.color || grp.outline) : grp.outline;
      if (stroke) { ctx.strokeStyle = stroke; ctx.lineWidth = grp.outline_width || 1; ctx.stroke(); }
    }
    ctx.globalAlpha = 1;
    if (picked.size) {
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2; ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (!picked.has(data.index[i]) || !visible[data.group[i]] || !groups[data.group[i]].pickable) continue;
        ctx.moveTo(sx[i] + 8, sy[i]); ctx.arc(sx[i], sy[i], 8, 0, 2 * Math.PI);
      }
      ctx.stroke();
    }
    if (hover >= 0) {
      ctx.strokeStyle = "#ff9900"; ctx.lineWidth = 2.5; ctx.beginPath();
      ctx.arc(sx[hover], sy[hover], 9, 0, 2 * Math.PI); ctx.stroke();
    }
    if (lasso && lasso.length > 1) {
      ctx.strokeStyle = "#333"; ctx.setLineDash([4, 3]); ctx.lineWidth = 1; ctx.beginPath();
      ctx.moveTo(lasso[0][0], lasso[0][1]);
      for (const [px, py] of lasso) ctx.lineTo(px, py);
      ctx.closePath(); ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = "rgba(80, 80, 80, 0.08)"; ctx.fill();
    }
  }

  function resize() {
    const w = Math.max(200, stage.clientWidth);
    const dpr = window.devicePixelRatio || 1;
    width = w;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(height * dpr);
    canvas.style.width = `${w}px`; canvas.style.height = `${height}px`;
    project(); draw();
  }

  function nearest(px, py, pickableOnly) {
    let best = -1, bestD = HIT_PX * HIT_PX;
    // groups drawn later lie on top: on a tie the later group wins
    for (let i = 0; i < n; i++) {
      const g = data.group[i];
      if (!visible[g] || (pickableOnly && !groups[g].pickable)) continue;
      const dx = sx[i] - px, dy = sy[i] - py, d = dx * dx + dy * dy;
      if (d < bestD || (d === bestD && best >= 0 && g > data.group[best])) { best = i; bestD = d; }
    }
    return best;
  }

  function className(i) {
    const k = data.label[i];
    if (k === undefined || k < 0) return "?";
    return data.classes && k < data.classes.length ? data.classes[k] : String(k);
  }

  function showTip(i, px, py) {
    const sc = data.score[i];
    tipText.textContent = `#${data.index[i]} · ${className(i)} · ${groups[data.group[i]].name}` +
      (sc === null || sc === undefined ? "" : ` · score ${fmtScore(sc)}`);
    const tctx = thumb.getContext("2d");
    tctx.clearRect(0, 0, thumb.width, thumb.height);
    const hasImage = sprite && sprite.complete && sprite.naturalWidth > 0 && i < (data.n_images || 0);
    thumb.hidden = !hasImage;
    tip.dataset.image = hasImage ? "1" : "0";
    if (hasImage) {
      const t = data.tile, c = i % data.cols, r = Math.floor(i / data.cols);
      tctx.imageSmoothingEnabled = false;
      tctx.drawImage(sprite, c * t, r * t, t, t, 0, 0, thumb.width, thumb.height);
    }
    tip.hidden = false;
    const left = px + 14 + tip.offsetWidth > width ? px - 14 - tip.offsetWidth : px + 14;
    const top = Math.min(Math.max(0, py - 20), height - tip.offsetHeight);
    tip.style.left = `${left}px`; tip.style.top = `${top}px`;
  }

  function hideTip() { tip.hidden = true; }

  function pos(ev) {
    const rect = canvas.getBoundingClientRect();
    return [ev.clientX - rect.left, ev.clientY - rect.top];
  }

  let down = null;
  function onDown(ev) {
    if (ev.button !== 0) return;
    down = pos(ev); lasso = [down]; hideTip();
    canvas.setPointerCapture && canvas.setPointerCapture(ev.pointerId);
  }
  function onMove(ev) {
    const [px, py] = pos(ev);
    if (down) {
      const last = lasso[lasso.length - 1];
      if (Math.hypot(px - last[0], py - last[1]) > 2) { lasso.push([px, py]); draw(); }
      return;
    }
    const h = nearest(px, py, false);
    if (h !== hover) { hover = h; draw(); }
    if (h >= 0) showTip(h, px, py); else hideTip();
  }
  function commit(indices) {
    const ids = [...new Set(indices.map((i) => data.index[i]))];
    picked.clear();
    for (const id of ids) picked.add(id);
    draw();
    setStateValue("picked", ids);
  }
  function onUp(ev) {
    if (!down) return;
    const [px, py] = pos(ev);
    const moved = Math.hypot(px - down[0], py - down[1]);
    const poly = lasso;
    down = null; lasso = null;
    if (moved < 4 || poly.length < 3) {
      const i = nearest(px, py, true);
      commit(i >= 0 ? [i] : []);
      return;
    }
    const inside = [];
    for (let i = 0; i < n; i++) {
      const g = data.group[i];
      if (visible[g] && groups[g].pickable && insidePolygon(sx[i], sy[i], poly)) inside.push(i);
    }
    commit(inside);
  }
  function onLeave() { if (!down) { hover = -1; hideTip(); draw(); } }
  function onWheel(ev) {
    ev.preventDefault();
    const [px, py] = pos(ev);
    const f = Math.exp(Math.sign(ev.deltaY) * 0.15);
    const cx = view[0] + (px / width) * (view[1] - view[0]);
    const cy = view[2] + ((height - py) / height) * (view[3] - view[2]);
    view = [cx + (view[0] - cx) * f, cx + (view[1] - cx) * f, cy + (view[2] - cy) * f, cy + (view[3] - cy) * f];
    project(); draw();
  }
  function onDbl() { view = home.slice(); project(); draw(); }

  // legend: click an entry to hide or show that group
  const legend = root.querySelector(".alk-legend");
  const counts = groups.map(() => 0);
  for (let i = 0; i < n; i++) counts[data.group[i]]++;
  for (let g = 0; g < G; g++) {
    if (!counts[g]) continue;
    const grp = groups[g];
    const item = document.createElement("button");
    item.type = "button";
    item.className = "alk-legend-item";
    item.dataset.group = grp.name;
    const dot = document.createElement("span");
    dot.className = "alk-dot";
    dot.style.background = grp.color || "transparent";
    if (grp.outline) dot.style.border = `2px solid ${grp.outline}`;
    item.append(dot, grp.legend || `${grp.name} (${counts[g]})`);
    item.onclick = () => { visible[g] = !visible[g]; item.classList.toggle("off", !visible[g]); draw(); };
    legend.appendChild(item);
  }

  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointerleave", onLeave);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  canvas.addEventListener("dblclick", onDbl);
  if (sprite) sprite.onload = () => { root.dataset.sprite = "loaded"; };
  const ro = new ResizeObserver(() => resize());
  ro.observe(stage);
  resize();
  root.dataset.ready = "1";
  // for tests and scripting: the on-screen position of the k-th point (CSS px, relative to the canvas)
  root.alkScreenOf = (k) => [sx[k], sy[k]];

  return () => {
    ro.disconnect();
    canvas.removeEventListener("pointerdown", onDown);
    canvas.removeEventListener("pointermove", onMove);
    canvas.removeEventListener("pointerup", onUp);
    canvas.removeEventListener("pointerleave", onLeave);
    canvas.removeEventListener("wheel", onWheel);
    canvas.removeEventListener("dblclick", onDbl);
  };
}
