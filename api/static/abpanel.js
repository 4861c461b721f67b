// The A/B panel: each variant's state and controls, its money (GET /strategy) and performance
// (GET /performance, the /ws `performance` message) side by side, and the equity curves of all
// variants on one chart (GET /performance/equity?variant=…).
import * as L from "./logic.js";

const STRATEGY_EVERY_MS = 5000;
const CURVES_EVERY_MS = 2000;
const EQUITY_PAGE = 10_000; // points per GET /performance/equity page
const EQUITY_PAGES = 5; // pages read back from the newest: the whole run up to 50,000 marks
/** The equity chart's range buttons: [key, label, hours (null: the whole run)]. */
const RANGES = [["6h", "6 h", 6], ["24h", "24 h", 24], ["7d", "7 d", 168], ["all", "All", null]];

/** The visible range [from, to] in chart seconds for a range key over rows' [first, last]. */
export function rangeWindow(key, first, last) {
  const hours = RANGES.find(([k]) => k === key)?.[2] ?? null;
  if (hours === null || !Number.isFinite(first) || !Number.isFinite(last)) return null;
  return { from: Math.max(first, last - hours * 3600), to: last };
}

/** A variant's line: the first solid and wide, the others dashed, so overlapping lines show. */
export function lineLook(index) {
  return index === 0 ? { lineWidth: 3, lineStyle: 0 } : { lineWidth: 2, lineStyle: 2 };
}

/** "1h 05m", "3m 20s", "42s" from seconds; "—" when unknown. */
export function holdText(seconds) {
  const s = Number(seconds);
  if (seconds === null || seconds === undefined || !Number.isFinite(s)) return "—";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.floor(s % 60);
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  return m ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}

/** Equity marks -> chart rows: seconds, strictly rising (the last mark of a second wins). */
export function equityRows(points) {
  const rows = [];
  for (const p of points ?? []) {
    const time = Math.floor(Number(p.time_ms) / 1000);
    const value = Number(p.equity);
    if (!Number.isFinite(time) || !Number.isFinite(value)) continue;
    if (rows.length && rows.at(-1).time >= time) {
      if (rows.at(-1).time === time) rows.at(-1).value = value;
      continue;
    }
    rows.push({ time, value });
  }
  return rows;
}

/** The Close-all confirmation, true to whether the variant is paused. */
export function closeAllQuestion(name, paused) {
  const after = paused
    ? "It stays paused: its strategy opens nothing new until you resume it."
    : "It is not paused: its strategy may open again.";
  return `Close every open position of variant ${name} at market now?\n\n${after}`;
}

/** The toast after Close all, from POST /variants/{name}/close-all's answer. */
export function closeAllText(name, out) {
  const closed = out?.closed ?? [];
  const refused = Object.entries(out?.refused ?? {}).map(([s, why]) => `${s}: ${why}`).join("; ");
  const head = closed.length
    ? `Variant ${name}: closed ${closed.join(", ")}`
    : `Variant ${name}: nothing was open to close`;
  return refused ? `${head}; refused ${refused}` : head;
}

const signed = (n, digits = 2) => `${n > 0 ? "+" : ""}${L.fmt(n, digits)}`;
const cls = (n) => (n > 0 ? "up" : n < 0 ? "down" : "");

/**
 * The panel. `ctx` gives the page's helpers: api(path, opts), state (symbols, variants,
 * colours, health, strategy, tz), toast(text, kind), esc(text), onChange() (the page re-reads
 * what a control changed).
 */
export function createAbPanel(ctx) {
  const { api, state, store, toast, esc } = ctx;
  const root = document.getElementById("ab-panel");
  const panel = {
    perf: null, chart: null, series: {}, curvesAt: 0, curvesQueued: false, busy: new Set(),
    heads: "", range: "all", span: [NaN, NaN], shown: null,
  };
  root.hidden = false;
  root.innerHTML = `
    <article class="card ab-card" id="ab-figures">
      <div class="card-head"><h2>A / B comparison</h2>
        <span class="ab-since" id="ab-since"></span></div>
      <div class="ab-heads" id="ab-heads"></div>
      <div class="ab-table-wrap"><table class="ab-table" id="ab-table"><thead></thead><tbody></tbody></table></div>
    </article>
    <article class="card ab-card" id="ab-equity">
      <div class="card-head"><h2>Equity</h2><span class="ab-legend" id="ab-legend"></span></div>
      <div class="range-tabs" id="equity-range" role="group" aria-label="equity range">
        ${RANGES.map(([key, label]) => `<button type="button" class="ghost" data-range="${key}"
          aria-pressed="${key === "all"}">${label}</button>`).join("")}</div>
      <div id="equity-chart" class="equity-chart" aria-label="equity curves"></div>
    </article>`;

  function variants() { return state.strategy?.variants ?? state.variants ?? []; }
  function perfOf(name) { return panel.perf?.variants?.find((v) => v.variant === name) ?? null; }
  /** State and reason: the newest health (it follows /ws status), else /strategy. */
  function stateOf(v) {
    const h = state.health?.variants?.find((x) => x.variant === v.name);
    return { state: h?.state ?? v.state ?? "active", reason: h ? h.reason : v.state_reason };
  }

  /** Paused by a person (the Resume button shows), as opposed to halted or paused by risk. */
  function pausedByPerson(v) {
    const s = stateOf(v);
    return Boolean(v.paused) || (s.state === "paused" && /by a person/.test(s.reason ?? ""));
  }

  function renderHeads() {
    const html = variants().map((v) => {
      const s = stateOf(v);
      const paused = pausedByPerson(v);
      const busy = panel.busy.has(v.name) ? " disabled" : "";
      return `<div class="ab-head" style="--vc:${state.colours[v.name] ?? "#fff"}" data-variant="${esc(v.name)}">
        <div class="ab-name"><span class="vtag" style="--vc:${state.colours[v.name] ?? "#fff"}">${esc(v.name)}</span>
          <span class="ab-stop">stop ${L.fmt(L.num(v.stop_loss) * 100, 1).replace(/\.0$/, "")} %</span>
          <span class="ab-spec" title="${esc(v.spec || v.strategy || "")}">${esc(v.spec || v.strategy || "")}</span></div>
        <div class="ab-state"><span class="pill state-${esc(s.state)}" data-testid="state-${esc(v.name)}"
          data-state="${esc(s.state)}">${esc(s.state)}</span>
          <span class="ab-reason" data-testid="reason-${esc(v.name)}">${esc(s.reason ?? "")}</span></div>
        <div class="ab-controls">
          ${paused
            ? `<button type="button" data-act="resume" data-variant="${esc(v.name)}" data-testid="resume-${esc(v.name)}"${busy}>Resume</button>`
            : `<button type="button" class="ghost" data-act="pause" data-variant="${esc(v.name)}" data-testid="pause-${esc(v.name)}"${busy}>Pause</button>`}
          <button type="button" class="ghost" data-act="edit" data-variant="${esc(v.name)}" data-testid="edit-${esc(v.name)}">Edit</button>
          <button type="button" class="danger" data-act="close-all" data-variant="${esc(v.name)}" data-testid="close-all-${esc(v.name)}"${busy}>Close all</button>
        </div>
      </div>`;
    }).join("");
    // Only when something changed: a button under the pointer is never replaced for nothing.
    if (html !== panel.heads) {
      panel.heads = html;
      document.getElementById("ab-heads").innerHTML = html;
    }
  }

  /** Rows: [label, (variant) -> [text, class]]. */
  const ROWS = [
    ["Capital", (m) => [L.fmt(L.num(m.money?.capital), 2)]],
    ["Equity", (m) => [L.fmt(L.num(m.money?.equity), 2)]],
    ["Return", (m) => { const n = L.num(m.money?.return_pct); return [`${signed(n)} %`, cls(n)]; }],
    ["Drawdown now", (m) => [`${L.fmt(L.num(m.money?.drawdown_pct), 2)} %`]],
    ["Max drawdown", (m) => [`${L.fmt(L.num(m.perf?.max_drawdown_pct), 2)} %`]],
    ["Round trips", (m) => [m.perf ? String(m.perf.round_trips) : "—"]],
    ["Wins · win rate", (m) => [m.perf ? `${m.perf.wins} · ${L.fmt(m.perf.win_rate * 100, 0)} %` : "—"]],
    ["Realized P&L", (m) => { const n = L.num(m.perf?.realized_pnl); return [signed(n), cls(n)]; }],
    ["Unrealized P&L", (m) => { const n = L.num(m.perf?.unrealized_pnl); return [signed(n), cls(n)]; }],
    ["Fees", (m) => [L.fmt(L.num(m.perf?.fees), 2)]],
    ["Stops hit", (m) => [m.perf ? String(m.perf.stops_hit) : "—"]],
    ["Exposure", (m) => [m.perf ? `${L.fmt(m.perf.exposure * 100, 0)} %` : "—"]],
    ["Average hold", (m) => [holdText(m.perf?.avg_hold_s)]],
  ];

  function renderTable() {
    const vs = variants();
    const table = document.getElementById("ab-table");
    table.tHead.innerHTML = `<tr><th></th>${vs.map((v) =>
      `<th class="num"><span class="vtag" style="--vc:${state.colours[v.name] ?? "#fff"}">${esc(v.name)}</span></th>`).join("")}</tr>`;
    const models = vs.map((v) => ({ money: v.money, perf: perfOf(v.name)?.totals ?? null }));
    table.tBodies[0].innerHTML = ROWS.map(([label, cell]) => `<tr><th scope="row">${esc(label)}</th>${
      models.map((m, i) => {
        const [text, c] = cell(m);
        return `<td class="num ${c ?? ""}" data-testid="ab-${esc(label)}-${esc(vs[i].name)}">${esc(text)}</td>`;
      }).join("")}</tr>`).join("");
    const since = panel.perf?.start_ms;
    document.getElementById("ab-since").textContent = since
      ? `since ${L.formatTime(since, state.tz)} ${L.tzLabel(state.tz)}` : "";
  }

  function render() {
    renderHeads();
    renderTable();
    renderLegend();
  }

  function renderLegend() {
    document.getElementById("ab-legend").innerHTML = variants().map((v) => {
      const p = perfOf(v.name);
      const ret = p ? L.num(p.totals.return_pct) : NaN;
      return `<span class="vtag" style="--vc:${state.colours[v.name] ?? "#fff"}">${esc(v.name)}</span>
        <span class="${cls(ret)}">${Number.isFinite(ret) ? `${signed(ret)} %` : ""}</span>`;
    }).join(" ");
  }

  function initChart() {
    const LC = window.LightweightCharts;
    if (!LC || panel.chart) return;
    panel.chart = LC.createChart(document.getElementById("equity-chart"), {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#8c98b3", attributionLogo: false },
      grid: { vertLines: { color: "#1c2640" }, horzLines: { color: "#1c2640" } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#243150" },
      rightPriceScale: { borderColor: "#243150" },
    });
    applyZone();
  }

  function applyZone() {
    if (!panel.chart) return;
    panel.chart.applyOptions({
      localization: { timeFormatter: (t) => `${L.formatTime(t * 1000, state.tz)} ${L.tzLabel(state.tz)}` },
      timeScale: { tickMarkFormatter: (t, type) => L.tickText(t, type, state.tz) },
    });
    renderTable();
  }

  async function loadCurves() {
    panel.curvesQueued = false;
    panel.curvesAt = Date.now();
    // Money from /strategy too, with the curves: the figures side by side are of one moment.
    try { store.strategy(await api("/strategy")); render(); } catch { /* banner says why */ }
    initChart();
    if (!panel.chart) return;
    const LC = window.LightweightCharts;
    let first = Infinity, last = -Infinity;
    for (const [index, v] of variants().entries()) {
      let points;
      try { points = await wholeCurve(v.name); } catch { continue; }
      let series = panel.series[v.name];
      if (!series) {
        series = panel.series[v.name] = panel.chart.addSeries(LC.LineSeries, {
          color: state.colours[v.name] ?? "#fff", title: v.name, ...lineLook(index),
          priceFormat: { type: "price", precision: 2, minMove: 0.01 },
        });
      }
      const rows = equityRows(points);
      series.setData(rows);
      if (rows.length) {
        first = Math.min(first, rows[0].time);
        last = Math.max(last, rows.at(-1).time);
      }
    }
    panel.span = [first, last];
    root.dataset.curves = String(Object.keys(panel.series).length);
    // The chosen range follows the newest marks ("All": the whole run) until the user drags
    // or zooms the chart; a range button pins it again.
    if (panel.range && Number.isFinite(first)) showRange(panel.range);
  }

  /** The variant's marks over the whole run (newest pages first, at most EQUITY_PAGES). */
  async function wholeCurve(name) {
    const pages = [];
    let cursor = null;
    for (let n = 0; n < EQUITY_PAGES; n++) {
      const query = `variant=${encodeURIComponent(name)}&limit=${EQUITY_PAGE}${
        cursor === null ? "" : `&cursor=${cursor}`}`;
      const { data, next } = await ctx.apiPage(`/performance/equity?${query}`);
      pages.unshift(data.points ?? []);
      cursor = next;
      if (cursor === null) break;
    }
    return pages.flat();
  }

  function showRange(key) {
    panel.range = key;
    for (const b of root.querySelectorAll("#equity-range button")) {
      b.setAttribute("aria-pressed", String(b.dataset.range === key));
    }
    if (!panel.chart || key === null) return;
    const window_ = rangeWindow(key, ...panel.span);
    if (window_) panel.chart.timeScale().setVisibleRange(window_);
    else panel.chart.timeScale().fitContent();
    // What the range drew, read once drawn: a later user's drag or zoom differs from it.
    requestAnimationFrame(() => { panel.shown = panel.chart.timeScale().getVisibleLogicalRange(); });
  }

  /** Equity curves again, at most every CURVES_EVERY_MS. */
  function queueCurves() {
    if (panel.curvesQueued) return;
    panel.curvesQueued = true;
    const wait = Math.max(0, panel.curvesAt + CURVES_EVERY_MS - Date.now());
    setTimeout(() => { loadCurves().catch(() => {}); }, wait);
  }

  async function refresh() {
    try {
      const [strategy, perf] = await Promise.all([api("/strategy"), api("/performance")]);
      store.strategy(strategy);
      panel.perf = perf;
    } catch { /* the page's banner says why */ }
    render();
    queueCurves();
  }

  async function act(kind, name) {
    const v = variants().find((x) => x.name === name);
    if (kind === "close-all" && !window.confirm(closeAllQuestion(name, v && pausedByPerson(v)))) {
      return;
    }
    panel.busy.add(name);
    renderHeads(); // disabled through the same render that enables it again afterwards
    try {
      const out = await api(`/variants/${encodeURIComponent(name)}/${kind}`, { method: "POST" });
      if (kind === "close-all") {
        toast(closeAllText(name, out), Object.keys(out.refused ?? {}).length ? "reject" : "info");
      } else {
        toast(`Variant ${name} ${kind === "pause" ? "paused: no new entries" : "resumed"}`, "info");
      }
      if (out.state) store.variantState(name, out.state, out.state_reason);
    } catch (err) {
      toast(`${kind} ${name} failed: ${err.message}`, "error");
    } finally {
      panel.busy.delete(name);
      renderHeads();
      await refresh();
      ctx.onChange?.();
    }
  }

  root.addEventListener("click", (e) => {
    const btn = e.target.closest("button[data-act]");
    if (btn?.dataset.act === "edit") ctx.editVariant?.(btn.dataset.variant);
    else if (btn) act(btn.dataset.act, btn.dataset.variant);
    const range = e.target.closest("button[data-range]");
    if (range) showRange(range.dataset.range);
  });
  // A drag or a zoom that moved the chart is the user's own range: it no longer follows new
  // marks (a tap, or a touch that scrolled the page, moved nothing and changes nothing).
  const chartBox = document.getElementById("equity-chart");
  const unpinIfMoved = () => requestAnimationFrame(() => {
    const now = panel.chart?.timeScale().getVisibleLogicalRange();
    const was = panel.shown;
    if (panel.range === null || !now || !was) return;
    if (Math.abs(now.from - was.from) > 0.5 || Math.abs(now.to - was.to) > 0.5) showRange(null);
  });
  chartBox.addEventListener("wheel", unpinIfMoved, { passive: true });
  chartBox.addEventListener("pointerup", unpinIfMoved);
  setInterval(() => { api("/strategy").then((s) => { store.strategy(s); render(); }).catch(() => {}); },
    STRATEGY_EVERY_MS);

  return {
    refresh,
    render,
    applyZone,
    /** The /ws `performance` message (or the snapshot's). */
    performance(data) {
      if (!data || !Array.isArray(data.variants)) return;
      panel.perf = data;
      renderTable();
      renderLegend();
      queueCurves();
    },
    /** Health changed (a /ws status): states and reasons. */
    status() { renderHeads(); },
    /** The equity chart and its series by variant (read by the browser tests). */
    get equity() { return { chart: panel.chart, series: panel.series, span: panel.span }; },
  };
}
