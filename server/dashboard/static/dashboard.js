// horn dashboard: keeps the server-rendered pages live by polling /v1/dashboard/... .
// No framework; every value goes into the page through textContent (never innerHTML).
"use strict";

(function () {
  const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
  const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, String(value));
      else node[key] = value;
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  const fmtNum = (v) => (v === null || v === undefined ? "—" : String(+Number(v).toPrecision(4)));
  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toISOString().replace("T", " ").slice(0, 19);
  }
  function fmtDur(s) {
    if (s === null || s === undefined) return "—";
    if (s < 60) return `${s.toFixed(1)} s`;
    let m = Math.floor(s / 60); const sec = Math.floor(s % 60);
    if (m < 60) return `${m} m ${String(sec).padStart(2, "0")} s`;
    const hr = Math.floor(m / 60); m %= 60;
    return `${hr} h ${String(m).padStart(2, "0")} m`;
  }
  const text = (id, value) => { const n = document.getElementById(id); if (n) n.textContent = value; };

  function stamp(ok) {
    const n = document.getElementById("updated");
    if (!n) return;
    n.dataset.state = ok ? "ok" : "error";
    n.textContent = ok ? `Updated ${new Date().toLocaleTimeString()}, live.`
      : "Cannot reach the server; retrying…";
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin",
      headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.assign(`/dashboard/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      throw new Error("logged out");
    }
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.json();
  }

  /** Call `tick` now and every `ms`, skipping while the tab is hidden; stop when it
   *  returns false. */
  function poll(ms, tick) {
    let timer = null;
    const run = async () => {
      let again = true;
      if (!document.hidden) {
        try { again = (await tick()) !== false; stamp(true); } catch (err) { stamp(false); }
      }
      if (again) timer = setTimeout(run, ms);
    };
    timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  }

  function badge(status) {
    return h("span", { class: `badge status-${status}` }, status);
  }

  function progress(p) {
    const bar = h("progress", { max: 1, title: p.label });
    if (p.fraction !== null && p.fraction !== undefined) bar.value = p.fraction;
    return bar;
  }

  // --- jobs page ---------------------------------------------------------------------
  function jobRow(j) {
    const metric = j.metric_name
      ? [h("small", {}, j.metric_name), ` ${fmtNum(j.metric_value)}`] : ["—"];
    const queue = [j.queue];
    if (j.priority !== "normal") queue.push(" ", h("small", {}, j.priority));
    return h("tr", { "data-job-id": j.id, "data-status": j.status },
      h("td", { class: "id" }, h("a", { href: `/dashboard/jobs/${j.id}`, title: j.id }, j.id.slice(0, 8))),
      h("td", { class: "model", title: j.model_id }, j.model_name || j.model_id.slice(0, 8)),
      h("td", { class: "kind" }, j.kind),
      h("td", { class: "owner" }, j.owner),
      h("td", { class: "status" }, badge(j.status),
        j.cancel_requested && j.status === "running" ? [" ", h("small", {}, "cancelling")] : []),
      h("td", { class: "progress" }, progress(j.progress), " ", h("small", {}, j.progress.label)),
      h("td", { class: "num loss" }, fmtNum(j.loss)),
      h("td", { class: "num metric" }, ...metric),
      h("td", { class: "queue" }, ...queue),
      h("td", { class: "worker" }, j.worker || "—"),
      h("td", { class: "time" }, fmtTime(j.created_at)),
      h("td", { class: "num duration" }, fmtDur(j.duration_seconds)));
  }

  function showCounts(counts) {
    for (const node of document.querySelectorAll("[data-count-status]")) {
      const n = counts[node.dataset.countStatus] ?? 0;
      const bold = node.querySelector("b");
      if (bold) bold.textContent = String(n); else node.textContent = String(n);
    }
  }

  function jobsPage() {
    const table = document.getElementById("jobs");
    const params = new URLSearchParams(location.search);
    const query = new URLSearchParams();
    for (const key of ["status", "owner", "page"]) if (params.get(key)) query.set(key, params.get(key));
    const tick = async () => {
      const data = await getJSON(`/v1/dashboard/jobs?${query}`);
      const body = document.getElementById("jobs-body");
      const rows = data.data.map(jobRow);
      if (!rows.length) {
        rows.push(h("tr", { class: "empty" }, h("td", { colSpan: 12 }, "No jobs yet. Submit one with model.fit(...).")));
      }
      body.replaceChildren(...rows);
      table.dataset.count = data.count; table.dataset.pages = data.pages;
      text("count", `${data.count} job${data.count === 1 ? "" : "s"}`);
      showCounts(data.counts);
    };
    document.getElementById("filter-status")?.addEventListener("change", (e) => e.target.form.submit());
    poll(2000, tick);
  }

  // --- job page ----------------------------------------------------------------------
  function drawCharts(charts) {
    const box = document.getElementById("charts");
    if (!charts.length) return;
    const existing = new Map([...box.querySelectorAll("figure.chart")].map((f) => [f.dataset.metric, f]));
    document.getElementById("no-charts")?.remove();
    for (const chart of charts) {
      let figure = existing.get(chart.name);
      if (!figure) { figure = h("figure", { class: "chart", "data-metric": chart.name }); box.appendChild(figure); }
      window.hornChart.draw(figure, chart);
    }
  }

  function showDetail(d) {
    const j = d.job;
    const section = document.getElementById("job");
    section.dataset.status = j.status;
    const status = document.getElementById("job-status");
    status.className = `badge status-${j.status}`; status.dataset.status = j.status; status.textContent = j.status;
    const bar = document.getElementById("job-progress");
    if (j.progress.fraction !== null) bar.value = j.progress.fraction; else bar.removeAttribute("value");
    text("job-progress-label", j.progress.label);
    text("job-loss", fmtNum(j.loss));
    text("job-metric", fmtNum(j.metric_value));
    text("job-attempt", `${j.attempt} of ${j.max_attempts}`);
    text("job-worker", j.worker || "—");
    text("job-started", fmtTime(j.started_at));
    text("job-finished", fmtTime(j.finished_at));
    text("job-duration", fmtDur(j.duration_seconds));
    const cancel = document.getElementById("cancel-form");
    if (cancel && !d.can_cancel) cancel.hidden = true;
    const download = document.getElementById("download");
    if (d.weights_url) {
      document.getElementById("weights-link").href = d.weights_url;
      document.getElementById("keras-link").href = d.weights_url.replace("weights.npz", "model.keras");
      download.hidden = false;
    }
    const error = document.getElementById("job-error");
    if (d.error) { text("job-error-text", `${d.error.type}: ${d.error.message}`); error.hidden = false; }
    if (d.result) { text("result", JSON.stringify(d.result, null, 2)); document.getElementById("result-box").hidden = false; }
    drawCharts(d.charts);
    const attempts = d.attempts.map((a) => h("tr", {}, h("td", { class: "num" }, String(a.attempt)),
      h("td", {}, a.worker || "—"), h("td", {}, fmtTime(a.started_at)), h("td", {}, fmtTime(a.ended_at)),
      h("td", {}, a.outcome)));
    if (attempts.length) document.getElementById("attempts-body").replaceChildren(...attempts);
    document.getElementById("events-body").replaceChildren(...d.events.map((e) =>
      h("tr", { "data-event-id": e.id }, h("td", { class: "num" }, String(e.id)),
        h("td", {}, fmtTime(e.created_at)), h("td", {}, e.type), h("td", {}, e.summary))));
  }

  function jobPage() {
    const data = JSON.parse(document.getElementById("job-data").textContent);
    drawCharts(data.charts);
    const form = document.getElementById("cancel-form");
    form?.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
    if (TERMINAL.has(data.job.status)) return;
    const id = data.job.id;
    poll(1500, async () => {
      const detail = await getJSON(`/v1/dashboard/jobs/${encodeURIComponent(id)}`);
      showDetail(detail);
      return !TERMINAL.has(detail.job.status);
    });
  }

  // --- workers page ------------------------------------------------------------------
  function workersPage() {
    poll(3000, async () => {
      const s = await getJSON("/v1/dashboard/summary");
      text("t-running", String(s.counts.running ?? 0));
      text("t-queued", String(s.counts.queued ?? 0));
      text("t-succeeded-hour", String(s.succeeded_last_hour));
      text("t-failed-hour", String(s.failed_last_hour));
      text("t-total", String(s.total));
      showCounts(s.counts);
      const rows = s.workers.map((w) => {
        const jobs = w.current_jobs.map((id) => [h("a", { href: `/dashboard/jobs/${id}` }, id.slice(0, 8)), " "]);
        if (w.busy_with_hidden_jobs) jobs.push(h("small", {}, `${w.busy_with_hidden_jobs} of another user`));
        if (!jobs.length) jobs.push("—");
        return h("tr", { "data-worker": w.name, "data-state": w.state }, h("td", {}, w.name),
          h("td", {}, h("span", { class: `badge state-${w.state}` }, w.state)), h("td", {}, w.device),
          h("td", {}, w.queues.join(", ") || "—"), h("td", {}, ...jobs.flat()),
          h("td", {}, fmtTime(w.last_heartbeat)), h("td", {}, h("small", {}, w.processes.join(", "))));
      });
      if (!rows.length) rows.push(h("tr", { class: "empty" }, h("td", { colSpan: 7 }, "No worker is online (none answered, none holds a job).")));
      document.getElementById("workers-body").replaceChildren(...rows);
      document.getElementById("queues-body").replaceChildren(...s.queues.map((q) =>
        h("tr", { "data-queue": q.queue }, h("td", {}, q.queue), h("td", { class: "num" }, String(q.depth)))));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "jobs") jobsPage();
    else if (page === "job") jobPage();
    else if (page === "workers") workersPage();
  });
  window.hornDashboard = { STATUSES };
})();
