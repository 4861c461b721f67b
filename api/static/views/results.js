// The results card: round trips (GET /trades/round-trips, paged, CSV export), realized P&L
// per day, week or month (GET /performance/periods) and per-symbol figures (GET /performance).
// Every figure is the server's, shown as sent; the page adds up nothing.
import * as L from "../logic.js";
import { holdText } from "../abpanel.js";
import { labelCells } from "./dom.js";

const PAGE = 25;
const CSV_FIELDS = [
  "variant", "symbol", "entry_time_iso", "entry_price", "exit_time_iso", "exit_price",
  "duration_s", "quantity", "pnl", "pnl_pct", "fees", "exit_reason", "entry_order_id",
  "exit_order_id",
];

/** RFC 4180 CSV of round-trip rows, the fields as the server sent them. */
export function tripsCsv(rows) {
  const cell = (v) => {
    const s = String(v ?? "");
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [CSV_FIELDS.join(","), ...rows.map((r) => CSV_FIELDS.map((f) => cell(r[f])).join(","))]
    .join("\r\n") + "\r\n";
}

/**
 * GET /performance/periods -> [{label, cells: {variant: {pnl, fills}}}], newest first, and the
 * largest |P&L| (the bars' scale). Values are the server's decimal strings.
 */
export function periodTable(doc) {
  const byLabel = new Map();
  let most = 0;
  for (const r of doc?.periods ?? []) {
    const row = byLabel.get(r.start_ms) ?? { label: r.label, start: r.start_ms, cells: {} };
    row.cells[r.variant] = { pnl: r.realized_pnl, fills: r.fills };
    byLabel.set(r.start_ms, row);
    most = Math.max(most, Math.abs(Number(r.realized_pnl)) || 0);
  }
  return { rows: [...byLabel.values()].sort((a, b) => b.start - a.start), most };
}

const cls = (n) => (n > 0 ? "up" : n < 0 ? "down" : "");
const signedText = (text) => (Number(text) > 0 ? `+${text}` : String(text));

/**
 * The card. `ctx`: apiPage(path) -> {data, next}, api(path), esc, state (variants, colours,
 * tz), toast(text, kind).
 */
export function createResults(ctx) {
  const { apiPage, api, esc, state } = ctx;
  const root = document.getElementById("results");
  const view = { tab: "trips", cursors: [null], page: 0, next: null, period: "day" };

  root.innerHTML = `
    <div class="card-head"><h2>Results</h2>
      <div class="tabs" role="tablist" id="results-tabs">
        <button type="button" role="tab" data-tab="trips" aria-selected="true">Round trips</button>
        <button type="button" role="tab" data-tab="periods" aria-selected="false">P&amp;L by period</button>
        <button type="button" role="tab" data-tab="symbols" aria-selected="false">Per symbol</button>
      </div></div>
    <div data-pane="trips">
      <div class="pane-tools">
        <select id="trips-variant" aria-label="round trips of variant"><option value="">all variants</option></select>
        <button type="button" class="ghost" id="trips-newer" disabled>Newer</button>
        <span id="trips-page" class="muted"></span>
        <button type="button" class="ghost" id="trips-older" disabled>Older</button>
        <button type="button" class="ghost" id="trips-csv">Export CSV</button>
      </div>
      <div class="table-wrap"><table id="trips-table"><thead><tr>
        <th>Variant</th><th>Symbol</th><th>Entry (<span class="tz">UTC</span>)</th><th class="num">Entry price</th>
        <th>Exit</th><th class="num">Exit price</th><th class="num">Held</th><th class="num">Qty</th>
        <th class="num">P&amp;L</th><th class="num">%</th><th class="num">Fees</th><th>Exit reason</th>
      </tr></thead><tbody></tbody></table></div>
      <p class="empty" id="trips-empty">No round trip yet.</p>
    </div>
    <div data-pane="periods" hidden>
      <div class="pane-tools">
        <select id="periods-kind" aria-label="period">
          <option value="day">per day</option><option value="week">per week</option>
          <option value="month">per month</option></select>
        <span class="muted">realized P&amp;L (sells at average cost, fees included), UTC</span>
      </div>
      <div id="periods-bars" class="period-bars"></div>
      <p class="empty" id="periods-empty">No fill yet.</p>
    </div>
    <div data-pane="symbols" hidden>
      <div class="table-wrap"><table id="symbols-table"><thead><tr>
        <th>Variant</th><th>Symbol</th><th class="num">Round trips</th><th class="num">Win rate</th>
        <th class="num">Realized</th><th class="num">Unrealized</th><th class="num">Fees</th>
        <th class="num">Stops</th><th class="num">Open</th>
      </tr></thead><tbody></tbody></table></div>
      <p class="empty" id="symbols-empty">No fill yet.</p>
    </div>`;
  root.hidden = false;
  const $ = (id) => document.getElementById(id);

  function tripsQuery(cursor, limit = PAGE) {
    const v = $("trips-variant").value;
    return `/trades/round-trips?limit=${limit}${v ? `&variant=${encodeURIComponent(v)}` : ""}${
      cursor === null ? "" : `&cursor=${cursor}`}`;
  }

  async function loadTrips() {
    const { data, next } = await apiPage(tripsQuery(view.cursors[view.page]));
    view.next = next;
    const rows = [...(data ?? [])].reverse(); // newest first
    $("trips-table").tBodies[0].innerHTML = rows.map((t) => {
      const dg = L.priceDigits(L.num(t.entry_price));
      const pnl = L.num(t.pnl);
      return `<tr><td><span class="vtag" style="--vc:${state.colours[t.variant] ?? "#fff"}">${esc(t.variant)}</span></td>
        <td>${esc(t.symbol)}</td><td>${esc(L.formatTime(t.entry_time_ms, state.tz))}</td>
        <td class="num">${L.fmt(t.entry_price, dg)}</td><td>${esc(L.formatTime(t.exit_time_ms, state.tz))}</td>
        <td class="num">${L.fmt(t.exit_price, dg)}</td><td class="num">${holdText(t.duration_s)}</td>
        <td class="num">${esc(t.quantity)}</td>
        <td class="num ${cls(pnl)}">${esc(signedText(L.fmt(t.pnl, 2).replace(/,/g, "")))}</td>
        <td class="num ${cls(pnl)}">${esc(L.fmt(t.pnl_pct, 2))}</td><td class="num">${L.fmt(t.fees, 4)}</td>
        <td>${esc(t.exit_reason)}</td></tr>`;
    }).join("");
    labelCells($("trips-table"));
    $("trips-empty").hidden = rows.length > 0;
    $("trips-newer").disabled = view.page === 0;
    $("trips-older").disabled = view.next === null;
    $("trips-page").textContent = rows.length ? `page ${view.page + 1}` : "";
    root.dataset.trips = String(rows.length);
  }

  async function exportCsv() {
    const all = [];
    let cursor = null;
    for (;;) { // every page, newest first; the file is oldest first
      const { data, next } = await apiPage(tripsQuery(cursor, 1000));
      all.unshift(...(data ?? []));
      if (next === null) break;
      cursor = next;
    }
    const blob = new Blob([tripsCsv(all)], { type: "text/csv" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `round-trips${$("trips-variant").value ? `-${$("trips-variant").value}` : ""}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  async function loadPeriods() {
    const doc = await api(`/performance/periods?period=${encodeURIComponent(view.period)}`);
    const { rows, most } = periodTable(doc);
    const names = state.variants.map((v) => v.name);
    $("periods-bars").innerHTML = rows.map((row) => `<div class="period-row" data-label="${esc(row.label)}">
      <span class="period-label">${esc(row.label)}</span>${names.map((n) => {
        const cell = row.cells[n];
        const value = cell ? L.num(cell.pnl) : 0;
        const width = most > 0 ? Math.round((Math.abs(value) / most) * 100) : 0;
        return `<span class="period-cell" data-variant="${esc(n)}" title="${esc(n)}: ${cell ? cell.fills : 0} fills">
          <span class="vtag" style="--vc:${state.colours[n] ?? "#fff"}">${esc(n)}</span>
          <span class="bar ${cls(value)}" style="--w:${width}%"></span>
          <b class="${cls(value)}" data-testid="period-${esc(row.label)}-${esc(n)}">${
            cell ? esc(signedText(L.fmt(cell.pnl, 2).replace(/,/g, ""))) : "—"}</b></span>`;
      }).join("")}</div>`).join("");
    $("periods-empty").hidden = rows.length > 0;
    root.dataset.periods = String(rows.length);
  }

  async function loadSymbols() {
    const perf = await api("/performance");
    const rows = [];
    for (const v of perf.variants ?? []) {
      for (const [symbol, f] of Object.entries(v.symbols ?? {})) {
        rows.push(`<tr><td><span class="vtag" style="--vc:${state.colours[v.variant] ?? "#fff"}">${esc(v.variant)}</span></td>
          <td>${esc(symbol)}</td><td class="num">${f.round_trips}</td>
          <td class="num">${f.round_trips ? `${L.fmt(f.win_rate * 100, 0)} %` : "—"}</td>
          <td class="num ${cls(L.num(f.realized_pnl))}">${esc(L.fmt(f.realized_pnl, 2))}</td>
          <td class="num ${cls(L.num(f.unrealized_pnl))}">${esc(L.fmt(f.unrealized_pnl, 2))}</td>
          <td class="num">${esc(L.fmt(f.fees, 4))}</td><td class="num">${f.stops_hit}</td>
          <td class="num">${f.open_positions}</td></tr>`);
      }
    }
    $("symbols-table").tBodies[0].innerHTML = rows.join("");
    labelCells($("symbols-table"));
    $("symbols-empty").hidden = rows.length > 0;
    root.dataset.symbols = String(rows.length);
  }

  function load() {
    const job = view.tab === "trips" ? loadTrips() : view.tab === "periods" ? loadPeriods() : loadSymbols();
    return job.catch((e) => ctx.toast?.(`Results: ${e.message}`, "error"));
  }

  function setTab(tab) {
    view.tab = tab;
    for (const b of root.querySelectorAll("#results-tabs [role='tab']")) {
      b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    }
    for (const pane of root.querySelectorAll("[data-pane]")) pane.hidden = pane.dataset.pane !== tab;
    return load();
  }

  root.addEventListener("click", (e) => {
    const tab = e.target.closest("[data-tab]");
    if (tab) { setTab(tab.dataset.tab); return; }
    if (e.target.closest("#trips-older") && view.next !== null) {
      view.cursors[++view.page] = view.next;
      load();
    } else if (e.target.closest("#trips-newer") && view.page > 0) {
      view.page -= 1;
      load();
    } else if (e.target.closest("#trips-csv")) {
      exportCsv().catch((err) => ctx.toast?.(`Export failed: ${err.message}`, "error"));
    }
  });
  root.addEventListener("change", (e) => {
    if (e.target.id === "trips-variant") { view.cursors = [null]; view.page = 0; load(); }
    if (e.target.id === "periods-kind") { view.period = e.target.value; load(); }
  });

  return {
    /** The variants changed (names for the filter). */
    variants(names) {
      const select = $("trips-variant");
      const keep = select.value;
      select.innerHTML = `<option value="">all variants</option>${
        names.map((n) => `<option>${esc(n)}</option>`).join("")}`;
      select.value = names.includes(keep) ? keep : "";
    },
    /** A fill arrived: the open tab is read again (the first page only: paging stays put). */
    refresh() { if (view.tab !== "trips" || view.page === 0) load(); },
    load,
  };
}
