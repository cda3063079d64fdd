// horn dashboard: a small line chart in SVG (no library). One chart per metric, the
// training series solid and the validation series dashed. Every point is an SVG
// <circle class="point" data-series=... data-epoch=... data-value=...>, and the figure
// carries data-points / data-val-points, so tests and people can read the values.
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 460, H = 230, L = 56, R = 14, T = 14, B = 34;

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceTicks(lo, hi, count) {
    const span = hi - lo;
    const raw = span / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
    return ticks;
  }

  function fmt(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(+v.toPrecision(3));
  }

  /** Draw `chart` ({name, train: [{epoch, value}], validation: [...]}) into `figure`. */
  function draw(figure, chart) {
    const train = chart.train || [], val = chart.validation || [];
    const all = train.concat(val).filter((p) => Number.isFinite(p.value));
    figure.dataset.metric = chart.name;
    figure.dataset.points = String(train.length);
    figure.dataset.valPoints = String(val.length);
    figure.replaceChildren();
    const caption = document.createElement("figcaption");
    caption.textContent = chart.name;
    figure.appendChild(caption);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-label": `${chart.name} per epoch` }, figure);
    if (!all.length) return;
    const epochs = all.map((p) => p.epoch);
    let x0 = Math.min(...epochs), x1 = Math.max(...epochs);
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    let y0 = Math.min(...all.map((p) => p.value)), y1 = Math.max(...all.map((p) => p.value));
    if (y0 === y1) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.06; y0 -= pad; y1 += pad;
    const sx = (e) => L + ((e - x0) / (x1 - x0)) * (W - L - R);
    const sy = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);

    const grid = el("g", { class: "grid" }, svg);
    for (const v of niceTicks(y0, y1, 4)) {
      el("line", { x1: L, x2: W - R, y1: sy(v), y2: sy(v) }, grid);
      el("text", { x: L - 6, y: sy(v) + 4, class: "ylabel" }, grid).textContent = fmt(v);
    }
    const xt = niceTicks(x0, x1, Math.min(8, x1 - x0)).filter((e) => Number.isInteger(e));
    for (const e of xt) {
      if (e < Math.min(...epochs) || e > Math.max(...epochs)) continue;
      el("text", { x: sx(e), y: H - B + 16, class: "xlabel" }, grid).textContent = String(e + 1);
    }
    el("text", { x: (L + W - R) / 2, y: H - 4, class: "axis" }, grid).textContent = "epoch";
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis-line" }, grid);

    const series = [["train", chart.name, train], ["val", `val_${chart.name}`, val]];
    for (const [kind, name, points] of series) {
      if (!points.length) continue;
      const g = el("g", { class: `series ${kind}`, "data-series": name }, svg);
      el("polyline", { class: `line ${kind}`,
        points: points.map((p) => `${sx(p.epoch).toFixed(1)},${sy(p.value).toFixed(1)}`).join(" ") }, g);
      for (const p of points) {
        const c = el("circle", { class: `point ${kind}`, cx: sx(p.epoch).toFixed(1),
          cy: sy(p.value).toFixed(1), r: 3, "data-series": name, "data-epoch": p.epoch,
          "data-value": p.value }, g);
        el("title", {}, c).textContent = `epoch ${p.epoch + 1}: ${name} = ${fmt(p.value)}`;
      }
    }
    const legend = el("g", { class: "legend" }, svg);
    series.filter((s) => s[2].length).forEach(([kind, name], i) => {
      const x = L + 8 + i * 150;
      el("line", { x1: x, x2: x + 18, y1: T + 4, y2: T + 4, class: `line ${kind}` }, legend);
      el("text", { x: x + 24, y: T + 8 }, legend).textContent = name;
    });
  }

  window.hornChart = { draw };
})();
