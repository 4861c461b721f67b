// The dashboard: REST snapshot + /ws events -> KPI cards, chart, variant cards, tables, toasts.
// Plain ES module, no build step. Pure logic lives in logic.js (tested with node).
import * as L from "./logic.js";
import { createAbPanel } from "./abpanel.js";
import { ViewFeed } from "./viewfeed.js";
import { api, apiPage, askToken, listOf, token } from "./transport.js";
import { createStore, positionKey } from "./store.js";
import { createLive } from "./live.js";
import { createEvents } from "./events.js";
import { keepSettings, loadSettings, restoreFilters } from "./settings.js";
import { createPanels } from "./views/panels.js";
import { createTradingControls } from "./views/trading.js";
import { createPriceChart, loadChartLibrary } from "./views/pricechart.js";
import * as Toasts from "./views/toasts.js";
import { createLogView } from "./views/logview.js";
import { createResults } from "./views/results.js";
import { createResearch } from "./views/research.js";
import { createVariantEditor } from "./views/variantedit.js";

const VARIANT_COLOURS = ["#38bdf8", "#f472b6", "#a3e635", "#fbbf24", "#c084fc"];
const HEALTH_EVERY_MS = 5000;
const RESULTS_EVERY_MS = 2000;
const MAX_ROWS = 200;

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const saved = loadSettings();

// The page's own state; the server's (symbols, variants, candles, prices, positions, trades,
// signals, health, strategy, performance) is added and kept by the store (store.js).
const state = {
  colours: {},
  selected: saved.symbol ?? null,
  view: L.VIEW_MINUTES[saved.view] ? saved.view : "1m",
  tz: saved.tz === "local" ? "local" : "utc",
  serverBars: {}, // "symbol/view" -> the service's closed bars of that interval, or null
  reloading: null,
  dirty: new Set(),
};
const store = createStore(state);
state.viewFeed = new ViewFeed(state.serverBars); // the selected interval's bars from /ws
window.dashboard = state; // for the browser tests and for curious people

function saveSettings() { keepSettings(state); }

// ---------------------------------------------------------------- REST


async function loadSnapshot() {
  if (state.reloading) return state.reloading;
  state.reloading = (async () => {
    const [health, symbols, strategy, positions, trades, signals] = await Promise.all([
      api("/health"), api("/symbols"), api("/strategy"), api("/positions"),
      api(`/trades?limit=${MAX_ROWS}`), api(`/signals?limit=${MAX_ROWS}`),
    ]);
    store.loaded({ health, symbols, strategy, positions, trades, signals });
    symbolsChanged();
    variantsChanged();
    applySavedFilters();
    await Promise.all(state.symbols.map(loadCandles));
    await loadViewBars(state.selected, state.view);
    markDirty("all");
  })();
  try { await state.reloading; } finally { state.reloading = null; }
}

async function loadCandles(symbol) {
  store.candlesRead(symbol, await api(`/candles/${encodeURIComponent(symbol)}?limit=1440`));
  if (symbol === state.selected) chart.reset();
}

/**
 * The service's candles of a higher interval (GET /candles/{symbol}?interval=). A service
 * without intervals answers 422: the page then builds the bars from its 1m candles alone.
 */
async function loadViewBars(symbol, view) {
  if (!symbol || view === "1m") return;
  const key = `${symbol}/${view}`;
  const refresh = state.serverBars[key] !== undefined;
  try {
    const data = await api(`/candles/${encodeURIComponent(symbol)}?interval=${view}&limit=1000`);
    // Bars that closed on /ws while the read was under way are kept.
    const read = listOf(data, "candles").map(L.normCandle);
    state.serverBars[key] = L.mergeBars(read, state.serverBars[key] ?? []);
  } catch {
    state.serverBars[key] = null;
  }
  // A refresh keeps the user's zoom and pan; a first read shows the newest bars.
  if (symbol === state.selected && view === state.view) chart.reset(refresh);
}

/** The bars of the selected view: the service's closed bars, then the page's newer ones. */
function viewBars(symbol, view) {
  const local = L.aggregate(state.candles[symbol] ?? [], L.VIEW_MINUTES[view]);
  const server = view === "1m" ? null : state.serverBars[`${symbol}/${view}`];
  return server ? L.mergeBars(server, local) : local;
}

async function refreshHealth() {
  try {
    store.health(await api("/health"));
    markDirty("kpi");
  } catch { /* the banner / feed card already tell */ }
}

// ---------------------------------------------------------------- state changes

/** The symbols changed in the store: the selects, the tabs and the selection follow. */
function symbolsChanged() {
  const symbols = state.symbols;
  if (!symbols.includes(state.selected)) state.selected = symbols[0] ?? null;
  fillSelect($("order-symbol"), symbols);
  if (state.selected && !state.orderSymbolSet) { $("order-symbol").value = state.selected; state.orderSymbolSet = true; }
  fillSelect($("f-symbol"), symbols, "all symbols");
  $("symbol-tabs").innerHTML = symbols.map((s) => `<span class="symtab">
      <button type="button" role="tab" data-symbol="${esc(s)}">${esc(s)}</button><button
        type="button" class="sym-remove" data-remove="${esc(s)}" title="stop following ${esc(s)}"
        aria-label="remove ${esc(s)}">×</button></span>`).join("");
  markTabs();
  state.research?.changed();
}

/** The variants changed in the store: colours, selects and the cards follow. */
function variantsChanged() {
  const variants = state.variants;
  variants.forEach((v, i) => { state.colours[v.name] = VARIANT_COLOURS[i % VARIANT_COLOURS.length]; });
  const names = variants.map((v) => v.name);
  fillSelect($("order-variant"), names);
  fillSelect($("f-variant"), names, "all variants");
  state.results?.variants(names);
  state.research?.changed();
  chart.loadLines().catch(() => {});  // a new stop-loss or parameters: new lines
}

/** The results card again after fills, at most every RESULTS_EVERY_MS. */
let resultsQueued = false;
function queueResults() {
  if (resultsQueued || !state.results) return;
  resultsQueued = true;
  setTimeout(() => { resultsQueued = false; state.results.refresh(); }, RESULTS_EVERY_MS);
}

let filtersRestored = false;
/** The signal filters saved last time, once their options exist. */
function applySavedFilters() {
  if (!filtersRestored) restoreFilters(saved);
  filtersRestored = true;
}

function fillSelect(el, values, anyLabel) {
  const keep = el.value;
  const opts = anyLabel ? [`<option value="">${esc(anyLabel)}</option>`] : [];
  for (const v of values) opts.push(`<option value="${esc(v)}">${esc(v)}</option>`);
  el.innerHTML = opts.join("");
  if ([...el.options].some((o) => o.value === keep)) el.value = keep;
}

const positionQty = (p) => L.num(p.qty);

function markDirty(...parts) {
  for (const p of parts) state.dirty.add(p);
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(render);
}

// ---------------------------------------------------------------- chart

const chart = createPriceChart({
  state, api, esc, viewBars, removing: (sym) => trading.isRemoving(sym),
});
const panels = createPanels({
  state, esc, maxRows: MAX_ROWS, positionKey, positionQty, live: () => live.isOpen(),
});
state.chart = chart; // read by the browser tests (series data)

// ---------------------------------------------------------------- rendering

function render() {
  state.renderQueued = false;
  const all = state.dirty.has("all");
  const d = (p) => all || state.dirty.has(p);
  if (all) { chart.reset(); markTabs(); }
  if (d("kpi") || d("positions")) panels.kpis();
  if (d("variants") || d("positions") || d("signals")) panels.variants();
  if (d("positions")) panels.positions();
  if (d("trades")) panels.trades();
  if (d("signals")) panels.signals();
  if (!all && d("chart-markers")) { chart.setMarkers(); chart.readout(null); }
  state.dirty.clear();
  if ($("toasts").lastElementChild) placeToasts(); // rows may have moved under a toast
}

/** The time zone switch: every time on the page, the chart's axis and its readout follow it. */
function setZone(tz, save = true) {
  state.tz = tz === "local" ? "local" : "utc";
  const btn = $("tz-btn");
  btn.textContent = L.tzLabel(state.tz);
  btn.setAttribute("aria-pressed", String(state.tz === "local"));
  btn.title = `times in ${state.tz === "local" ? "your local time" : "UTC"}: click for ${
    state.tz === "local" ? "UTC" : "local time"}`;
  for (const el of document.querySelectorAll(".tz")) el.textContent = L.tzLabel(state.tz);
  chart.applyZone();
  chart.readout(null);
  state.ab?.applyZone();
  if (save) saveSettings();
  markDirty("trades", "signals", "variants");
}

function markTabs() {
  for (const b of $("symbol-tabs").querySelectorAll("button[data-symbol]")) {
    b.classList.toggle("active", b.dataset.symbol === state.selected);
    b.setAttribute("aria-selected", String(b.dataset.symbol === state.selected));
  }
  for (const b of $("view-tabs").querySelectorAll("button")) {
    b.classList.toggle("active", b.dataset.view === state.view);
  }
}

// ---------------------------------------------------------------- toasts, token

const { toast, fillToast, noticeToast, asking, rejectKey, placeToasts } = Toasts;

// ---------------------------------------------------------------- user actions

function wireControls() {
  $("symbol-tabs").addEventListener("click", (e) => {
    const btn = e.target.closest("button");
    if (btn?.dataset.remove) trading.removeSymbol(btn.dataset.remove, btn);
    else if (btn?.dataset.symbol) selectSymbol(btn.dataset.symbol);
  });
  $("tz-btn").addEventListener("click", () => setZone(state.tz === "utc" ? "local" : "utc"));
  window.addEventListener("scroll", placeToasts, { passive: true });
  window.addEventListener("resize", placeToasts);
  // A card that grows or shrinks (results, research, logs) moves the controls below it.
  new ResizeObserver(() => { if ($("toasts").lastElementChild) placeToasts(); })
    .observe(document.querySelector("main"));
  $("kpi-prices").addEventListener("click", (e) => {
    const sym = e.target.closest("[data-symbol]")?.dataset.symbol;
    if (sym) selectSymbol(sym);
  });
  $("view-tabs").addEventListener("click", (e) => {
    const view = e.target.closest("button")?.dataset.view;
    if (view && view !== state.view) {
      state.view = view;
      state.viewFeed.follow(view);
      markTabs();
      chart.reset();
      saveSettings();
      loadViewBars(state.selected, view).catch(() => {});
    }
  });
  for (const id of ["f-symbol", "f-variant", "f-action"]) {
    $(id).addEventListener("change", () => { markDirty("signals"); saveSettings(); });
  }
  $("token-btn").hidden = !token();
  $("token-btn").addEventListener("click", () => askToken("Change the API token."));
}

function selectSymbol(sym) {
  if (sym === state.selected) return;
  state.selected = sym;
  $("order-symbol").value = sym;
  markTabs();
  chart.reset();
  markDirty("kpi");
  saveSettings();
  loadViewBars(sym, state.view).catch(() => {});
}

// ---------------------------------------------------------------- start

state.toast = toast; // the browser tests raise toasts through the page's own code

const trading = createTradingControls({
  state, store, toast, asking, rejectKey, markDirty, selectSymbol, maxRows: MAX_ROWS,
  live: () => live.isOpen(),
  loadSnapshot: () => loadSnapshot(),
});

const events = createEvents({
  state, store, chart, markDirty, loadViewBars, queueResults, toast, noticeToast,
  everConnected: () => live.everConnected(),
});

const live = createLive({
  attach: (ws) => state.viewFeed.attach(ws, state.view),
  message: (msg) => events.handle(msg),
  gap: () => {
    toast("Missed live updates: re-reading the snapshot", "info");
    loadSnapshot().catch(() => {});
  },
  accepted: (reconnected) => {
    if (!reconnected) return;
    toast("Live connection restored", "info");
    loadSnapshot().catch((e) => toast(`Reload failed: ${e.message}`, "error"));
  },
  closed: () => markDirty("kpi"),
  toast,
  placeToasts: () => placeToasts(),
});

async function main() {
  wireControls();
  setZone(state.tz, false);
  const chartReady = loadChartLibrary().then(() => chart.init()).catch((e) => {
    $("chart-msg").hidden = false;
    $("chart-msg").textContent = `Chart library unavailable: ${e.message}`;
  });
  try {
    await loadSnapshot();
  } catch (e) {
    toast(`Could not read the service: ${e.message}`, "error");
  }
  await chartReady;
  chart.reset();
  const editor = createVariantEditor({
    api, toast, esc, onSaved: () => { state.ab?.refresh(); loadSnapshot().catch(() => {}); },
  });
  state.ab = createAbPanel({
    api, apiPage, state, store, toast, esc, onChange: () => loadSnapshot().catch(() => {}),
    editVariant: (name) => editor.open(name).catch((e) => toast(`Edit ${name}: ${e.message}`, "error")),
  });
  await state.ab.refresh();
  state.results = createResults({ api, apiPage, esc, state, toast });
  state.logs = createLogView({ esc, state });
  state.results.variants(state.variants.map((v) => v.name));
  state.results.load();
  state.research = createResearch({
    api, esc, toast, symbols: () => state.symbols, variants: () => state.variants,
    onApplied: () => { state.ab?.refresh(); loadSnapshot().catch(() => {}); },
  });
  state.research.load();
  state.live = live; // the browser tests drop the connection through it
  live.connect();
  setInterval(refreshHealth, HEALTH_EVERY_MS);
  setInterval(() => markDirty("kpi"), 1000);
  document.body.dataset.ready = "1";
}

main();
