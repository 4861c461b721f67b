// The dashboard: REST snapshot + /ws events -> KPI cards, chart, variant cards, tables, toasts.
// Plain ES module, no build step. Pure logic lives in logic.js (tested with node).
import * as L from "./logic.js";
import { createAbPanel } from "./abpanel.js";
import { ViewFeed } from "./viewfeed.js";
import { labelCells } from "./views/dom.js";
import { createLogView } from "./views/logview.js";
import { createResults } from "./views/results.js";
import { createVariantEditor } from "./views/variantedit.js";

const LOCAL_CHART = "/static/vendor/lightweight-charts.standalone.production.js";
const CDN_CHART =
  "https://unpkg.com/lightweight-charts@5.2.1/dist/lightweight-charts.standalone.production.js";
const VARIANT_COLOURS = ["#38bdf8", "#f472b6", "#a3e635", "#fbbf24", "#c084fc"];
const LINE_COLOURS = ["#fbbf24", "#a78bfa", "#34d399", "#f472b6", "#60a5fa", "#fb923c"];
const TOKEN_KEY = "apiToken";
const SETTINGS_KEY = "dashboard.settings";
const HEALTH_EVERY_MS = 5000;
const RESULTS_EVERY_MS = 2000;
const MAX_ROWS = 200;
const FILL_TOAST_MS = 4500; // a fill toast's life from its first fill; later fills join it
const FILL_QUIET_MS = 15000; // then no fill toast for this long (the trades table has them)
const DEDUPE_MS = 5000; // the same rejection from the REST reply and from /ws: one toast

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page's settings kept in localStorage (never the token: that stays in this tab only). */
function loadSettings() {
  try { return JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}") ?? {}; } catch { return {}; }
}
const saved = loadSettings();

const state = {
  symbols: [],
  variants: [], // [{name, stop_loss, ema_period, sma_period}]
  colours: {},
  selected: saved.symbol ?? null,
  view: L.VIEW_MINUTES[saved.view] ? saved.view : "1m",
  tz: saved.tz === "local" ? "local" : "utc",
  candles: {}, // symbol -> closed 1m candles (normalised, oldest first)
  serverBars: {}, // "symbol/view" -> the service's closed bars of that interval, or null
  open: {}, // symbol -> open 1m candle (normalised) or null
  prices: {}, // symbol -> last price (number)
  health: null,
  strategy: null,
  performance: null, // the newest /performance report (its `total`: the KPI card)
  positions: [],
  trades: [],
  signals: [],
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  ws: null,
  wsOpen: false,
  removing: new Set(), // symbols being removed (DELETE /symbols/… under way)
  everConnected: false,
  attempt: 0,
  reconnectAt: 0,
  seq: new L.SeqTracker(),
  reloading: null,
  dirty: new Set(),
};
state.viewFeed = new ViewFeed(state.serverBars); // the selected interval's bars from /ws
window.dashboard = state; // for the browser tests and for curious people

function saveSettings() {
  const settings = {
    symbol: state.selected, view: state.view, tz: state.tz,
    filters: { symbol: $("f-symbol").value, variant: $("f-variant").value, action: $("f-action").value },
  };
  try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings)); } catch { /* private mode */ }
}

// ---------------------------------------------------------------- REST

/** A page of a paged GET: its rows and the cursor of the page before it (X-Next-Cursor). */
async function apiPage(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (!resp.ok) {
    const err = new Error(detailText(data?.detail) || `${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    throw err;
  }
  const next = resp.headers.get("X-Next-Cursor");
  return { data, next: next === null ? null : Number(next) };
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  // Every change is sent as JSON (bodiless ones too): the service refuses other content types.
  if (method !== "GET") headers["Content-Type"] = "application/json";
  if (state.token && method !== "GET") headers.Authorization = `Bearer ${state.token}`;
  const resp = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (resp.status === 401 && method !== "GET") {
    const why = state.token
      ? "The service refused this token. Enter the API_TOKEN it runs with."
      : "This action needs the API token.";
    if (await askToken(why, Boolean(state.token))) return api(path, { method, body });
  }
  if (!resp.ok) {
    const err = new Error(detailText(data?.detail) || `${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    err.detail = data?.detail;
    throw err;
  }
  return data;
}

function detailText(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ");
  return JSON.stringify(detail);
}

/** A list from a response that is a list or an object holding one under `key`. */
function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

async function loadSnapshot() {
  if (state.reloading) return state.reloading;
  state.reloading = (async () => {
    const [health, symbols, strategy, positions, trades, signals] = await Promise.all([
      api("/health"), api("/symbols"), api("/strategy"), api("/positions"),
      api(`/trades?limit=${MAX_ROWS}`), api(`/signals?limit=${MAX_ROWS}`),
    ]);
    state.health = health;
    state.strategy = strategy;
    setSymbols(listOf(symbols, "symbols").map((s) => (typeof s === "string" ? s : s.symbol)));
    for (const s of listOf(symbols, "symbols")) {
      const p = L.num(s.last_price);
      if (Number.isFinite(p)) state.prices[s.symbol] = p;
    }
    setVariants(strategy.variants ?? []);
    applySavedFilters();
    state.positions = listOf(positions, "positions");
    state.trades = listOf(trades, "trades");
    state.signals = listOf(signals, "signals");
    await Promise.all(state.symbols.map(loadCandles));
    await loadViewBars(state.selected, state.view);
    markDirty("all");
  })();
  try { await state.reloading; } finally { state.reloading = null; }
}

async function loadCandles(symbol) {
  const data = await api(`/candles/${encodeURIComponent(symbol)}?limit=1440`);
  state.candles[symbol] = listOf(data, "candles").map(L.normCandle);
  state.open[symbol] = data.open_candle ? L.normCandle(data.open_candle) : null;
  updatePrice(symbol);
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
    state.health = await api("/health");
    markDirty("kpi");
  } catch { /* the banner / feed card already tell */ }
}

// ---------------------------------------------------------------- state changes

function setSymbols(symbols) {
  state.symbols = symbols;
  for (const s of symbols) state.candles[s] ??= [];
  if (!symbols.includes(state.selected)) state.selected = symbols[0] ?? null;
  fillSelect($("order-symbol"), symbols);
  if (state.selected && !state.orderSymbolSet) { $("order-symbol").value = state.selected; state.orderSymbolSet = true; }
  fillSelect($("f-symbol"), symbols, "all symbols");
  $("symbol-tabs").innerHTML = symbols.map((s) => `<span class="symtab">
      <button type="button" role="tab" data-symbol="${esc(s)}">${esc(s)}</button><button
        type="button" class="sym-remove" data-remove="${esc(s)}" title="stop following ${esc(s)}"
        aria-label="remove ${esc(s)}">×</button></span>`).join("");
  markTabs();
}

function setVariants(variants) {
  state.variants = variants;
  variants.forEach((v, i) => { state.colours[v.name] = VARIANT_COLOURS[i % VARIANT_COLOURS.length]; });
  const names = variants.map((v) => v.name);
  fillSelect($("order-variant"), names);
  fillSelect($("f-variant"), names, "all variants");
  state.results?.variants(names);
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
  if (filtersRestored) return;
  filtersRestored = true;
  const f = saved.filters ?? {};
  for (const [id, value] of [["f-symbol", f.symbol], ["f-variant", f.variant], ["f-action", f.action]]) {
    const el = $(id);
    if (value && [...el.options].some((o) => o.value === value)) el.value = value;
  }
}

function fillSelect(el, values, anyLabel) {
  const keep = el.value;
  const opts = anyLabel ? [`<option value="">${esc(anyLabel)}</option>`] : [];
  for (const v of values) opts.push(`<option value="${esc(v)}">${esc(v)}</option>`);
  el.innerHTML = opts.join("");
  if ([...el.options].some((o) => o.value === keep)) el.value = keep;
}

function updatePrice(symbol) {
  const open = state.open[symbol];
  const closed = state.candles[symbol] ?? [];
  if (open) state.prices[symbol] = open.close;
  else if (closed.length) state.prices[symbol] = closed[closed.length - 1].close;
}

function upsertCandle(symbol, candle) {
  const list = (state.candles[symbol] ??= []);
  const last = list[list.length - 1];
  if (!last || candle.time > last.time) list.push(candle);
  else {
    const i = list.findIndex((c) => c.time === candle.time);
    if (i >= 0) list[i] = candle;
    else return false; // older than what we hold and unknown: a re-read will bring it
  }
  if (list.length > 3000) list.splice(0, list.length - 3000);
  return true;
}

function upsertBy(list, item, key) {
  const k = key(item);
  const i = list.findIndex((x) => key(x) === k);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

const positionKey = (p) => `${p.variant}/${p.symbol}`;
const tradeKey = (t) =>
  t.client_order_id ?? t.order_id ?? `${t.variant}/${t.symbol}/${t.time_ms}/${t.side}`;
const positionQty = (p) => L.num(p.qty ?? p.quantity);

function markDirty(...parts) {
  for (const p of parts) state.dirty.add(p);
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(render);
}

// ---------------------------------------------------------------- WebSocket

function connect() {
  const ws = new WebSocket(L.wsUrl(window.location, state.token));
  state.ws = ws;
  state.seq.reset();
  // Open only once the service speaks: it accepts a refused token before closing with 1008,
  // so `onopen` alone would announce a connection that is about to be refused.
  ws.onopen = () => { state.viewFeed.attach(ws, state.view); };
  ws.onmessage = (ev) => {
    if (!state.wsOpen) accepted();
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    const verdict = state.seq.check(msg.seq);
    if (verdict === "old") return;
    if (verdict === "gap") {
      toast("Missed live updates: re-reading the snapshot", "info");
      loadSnapshot().catch(() => {});
    }
    handle(msg);
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    state.wsOpen = false;
    setConn("closed");
    markDirty("kpi");
    if (ev.code === 1008) {
      const why = state.token
        ? `The service refused this token (${ev.reason || "401"}). Enter the API_TOKEN it runs with.`
        : "The live feed needs the API token.";
      askToken(why, Boolean(state.token)).then(scheduleReconnect);
      return;
    }
    if (state.everConnected && state.attempt === 0) toast("Live connection lost, reconnecting", "error");
    scheduleReconnect();
  };
}

/** The first message of a connection: live (again). */
function accepted() {
  const reconnect = state.everConnected;
  state.wsOpen = true;
  state.everConnected = true;
  state.attempt = 0;
  setConn("open");
  if (reconnect) {
    toast("Live connection restored", "info");
    loadSnapshot().catch((e) => toast(`Reload failed: ${e.message}`, "error"));
  }
}

function scheduleReconnect() {
  const delay = L.backoffMs(state.attempt++);
  state.reconnectAt = Date.now() + delay;
  tickCountdown();
  setTimeout(connect, delay);
}

/** The banner counts down to the next attempt (every 100 ms while it shows). */
function tickCountdown() {
  clearTimeout(state.countdownTimer);
  if (state.wsOpen) return;
  $("banner-text").textContent = L.countdownText(state.reconnectAt, Date.now());
  state.countdownTimer = setTimeout(tickCountdown, 100);
}

function setConn(s) {
  const el = $("conn");
  el.dataset.state = s;
  el.textContent = s === "open" ? "live" : s === "closed" ? "offline" : "connecting";
  $("banner").hidden = s !== "closed";
  placeToasts();
}

function handle(msg) {
  const d = msg.data;
  switch (msg.type) {
    case "snapshot":
      applySnapshot(d);
      break;
    case "candle": {
      if (d.interval && d.interval !== "1m") { viewEvent(d, true); break; }
      const c = L.normCandle(d);
      const sym = d.symbol;
      if (state.open[sym] && state.open[sym].time <= c.time) state.open[sym] = null;
      if (upsertCandle(sym, c)) {
        updatePrice(sym);
        if (sym === state.selected) {
          chart.closed();
          // A bar of the view just closed: read the service's version of it, unless /ws
          // brings it (the view's interval subscribed on this connection).
          if (state.view !== "1m" && L.closesBar(c.time, chart.minutes())
              && !state.viewFeed.streams(state.view)) {
            loadViewBars(sym, state.view).catch(() => {});
          }
        }
        markDirty("kpi", "variants", "positions");
      }
      break;
    }
    case "candle_update": {
      if (d.interval && d.interval !== "1m") { viewEvent(d, false); break; }
      const c = L.normCandle(d);
      const last = state.candles[d.symbol]?.at(-1);
      if (last && c.time <= last.time) break;
      state.open[d.symbol] = c;
      updatePrice(d.symbol);
      if (d.symbol === state.selected) chart.live();
      markDirty("kpi", "positions", "variants");
      break;
    }
    case "tick": {
      const p = L.num(d.price);
      if (Number.isFinite(p)) { state.prices[d.symbol] = p; markDirty("kpi", "positions"); }
      break;
    }
    case "signal":
      state.signals.push(d);
      if (state.signals.length > 2000) state.signals.splice(0, 1000);
      markDirty("signals", "variants");
      break;
    case "trade":
      upsertBy(state.trades, d, tradeKey);
      queueResults();
      markDirty("trades", "chart-markers", "kpi");
      break;
    case "notice":
      noticeToast(d);
      break;
    case "position":
      upsertBy(state.positions, d, positionKey);
      markDirty("positions", "variants", "kpi");
      break;
    case "status":
      if (d?.subscription) state.viewFeed.subscribed(d.subscription);
      if (d && typeof d === "object" && d.symbols) state.health = { ...state.health, ...d };
      markDirty("kpi");
      state.ab?.status();
      break;
    case "performance":
      state.performance = d;
      state.ab?.performance(d);
      markDirty("kpi");
      break;
    case "error":
      toast(`Error: ${detailText(d?.detail ?? d?.message ?? d)}`, "error");
      break;
    case "log":
      state.logs?.line(d);
      break;
    default:
      break;
  }
}

/** A candle or open-candle update of a higher interval (the selected view's, from /ws). */
function viewEvent(d, closed) {
  if (!state.viewFeed.event(d, closed)) return;
  if (d.symbol !== state.selected || d.interval !== state.view) return;
  if (closed) chart.closed();
  else chart.live();
}

function applySnapshot(d) {
  if (!d || typeof d !== "object") return;
  if (d.subscription) state.viewFeed.subscribed(d.subscription);
  if (state.everConnected && state.symbols.length === 0) return; // REST load still running
  if (Array.isArray(d.positions)) state.positions = d.positions;
  if (d.status && typeof d.status === "object") state.health = d.status;
  if (d.performance) {
    state.performance = d.performance;
    state.ab?.performance(d.performance);
  }
  state.logs?.snapshot(d.logs);
  markDirty("all");
}

// ---------------------------------------------------------------- chart

const chart = {
  api: null, candles: null, volume: null, lines: [], lineData: [], markers: null, bars: [],
  init() {
    const LC = window.LightweightCharts;
    const el = $("chart");
    this.api = LC.createChart(el, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#8c98b3",
                attributionLogo: false },
      grid: { vertLines: { color: "#1c2640" }, horzLines: { color: "#1c2640" } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#243150",
                   rightOffset: 3 },
      rightPriceScale: { borderColor: "#243150" },
      crosshair: { mode: LC.CrosshairMode.Normal },
    });
    this.applyZone();
    this.api.subscribeCrosshairMove((param) => this.readout(param));
    this.candles = this.api.addSeries(LC.CandlestickSeries, {
      upColor: "#22c55e", downColor: "#ef4444", borderVisible: false,
      wickUpColor: "#22c55e", wickDownColor: "#ef4444",
    });
    this.volume = this.api.addSeries(LC.HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "vol", lastValueVisible: false,
      priceLineVisible: false,
    });
    this.api.priceScale("vol").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.markers = LC.createSeriesMarkers(this.candles, []);
  },
  /** Axis ticks and the crosshair label in the chosen time zone (UTC or the browser's). */
  applyZone() {
    if (!this.api) return;
    this.api.applyOptions({
      localization: { timeFormatter: (t) => `${L.formatMinute(t * 1000, state.tz)} ${L.tzLabel(state.tz)}` },
      timeScale: { tickMarkFormatter: (t, type) => L.tickText(t, type, state.tz) },
    });
  },
  /**
   * The hover readout: OHLC, volume, the EMA/SMA values and the fills in the bar under the
   * pointer (the newest bar when the pointer is elsewhere).
   */
  readout(param) {
    const el = $("chart-readout");
    const hovered = param?.time !== undefined && param.point !== undefined;
    const data = this.candles?.data() ?? [];
    const time = hovered ? param.time : data.at(-1)?.time;
    if (time === undefined) { el.hidden = true; return; }
    const bar = (hovered ? param.seriesData.get(this.candles) : null) ?? data.find((b) => b.time === time);
    if (!bar) { el.hidden = true; return; }
    const vol = (hovered ? param.seriesData.get(this.volume)?.value : null)
      ?? this.volume.data().find((b) => b.time === time)?.value;
    const dg = L.priceDigits(bar.close);
    const cls = bar.close >= bar.open ? "up" : "down";
    const parts = [
      `<span class="ro-time">${L.formatMinute(time * 1000, state.tz)} ${L.tzLabel(state.tz)}</span>`,
      ...["open", "high", "low", "close"].map((k) =>
        `<span>${k[0].toUpperCase()} <b class="${cls}">${L.fmt(bar[k], dg)}</b></span>`),
      `<span>V <b>${L.fmt(vol, 4)}</b></span>`,
    ];
    for (const line of this.lines) {
      const point = line.series.data().find((p) => p.time === time);
      if (point) {  // a line of a longer interval has no point on every bar
        parts.push(`<span><i style="background:${line.colour}"></i>${esc(line.label)} <b>${
          L.fmt(point.value, dg)}</b></span>`);
      }
    }
    const fills = L.fillsInBar(state.trades, state.selected, this.minutes(), time * 1000);
    for (const line of L.fillLines(fills)) { // a busy bar: one line per variant and side
      const t = line.fill;
      const what = t
        ? `${esc(L.tradeQty(t))} @ <b>${L.fmt(L.tradePrice(t), L.priceDigits(L.tradePrice(t)))}</b>`
        : `<b>×${line.count}</b>`;
      parts.push(`<span class="ro-fill" style="--vc:${state.colours[line.variant] ?? "#fff"}">${
        String(line.side).toUpperCase() === "BUY" ? "▲" : "▼"} ${esc(line.variant)} ${
        esc(line.side)} ${what}</span>`);
    }
    el.innerHTML = parts.join("");
    el.hidden = false;
    el.dataset.time = String(time);
    el.dataset.hovered = hovered ? "1" : "";
  },
  minutes() { return L.VIEW_MINUTES[state.view]; },
  /** One variant per distinct strategy setup (its spec): whose indicator lines are drawn. */
  lineVariants() {
    const seen = new Map();
    for (const v of state.variants) if (v.spec && !seen.has(v.spec)) seen.set(v.spec, v);
    return [...seen.values()];
  },
  /**
   * The indicator lines of the selected symbol from the server (GET /strategy/indicators:
   * each strategy's own values, every strategy of the library); the page computes none.
   */
  async loadLines() {
    const sym = state.selected;
    if (!sym || !this.api || state.removing.has(sym)) return;
    const wanted = this.lineVariants();
    const got = await Promise.all(wanted.map((v) => api(`/strategy/indicators?symbol=${
      encodeURIComponent(sym)}&variant=${encodeURIComponent(v.name)}&limit=5000`).catch(() => null)));
    if (sym !== state.selected || !this.api) return;
    this.lineData = got.filter(Boolean);
    this.drawLines();
  },
  reset(keepRange = false) {
    if (!this.api) return;
    const sym = state.selected;
    const bars = viewBars(sym, state.view);
    this.bars = bars;
    const shown = bars.slice();
    const open = state.open[sym];
    if (open) {
      const live = L.liveBar(bars, open, this.minutes());
      if (shown.length && shown.at(-1).time === live.time) shown[shown.length - 1] = live;
      else shown.push(live);
    }
    this.candles.setData(shown.map(candleRow));
    this.volume.setData(shown.map(volumeRow));
    // The last 150 bars (zoom and pan reach the rest); a short history fills the width.
    const n = shown.length;
    if (n && !keepRange) {
      this.api.timeScale().setVisibleLogicalRange({ from: Math.max(0, n - 150), to: n + 2 });
    }
    const digits = L.priceDigits(shown.at(-1)?.close);
    this.candles.applyOptions({
      priceFormat: { type: "price", precision: digits, minMove: 10 ** -digits },
    });
    this.drawLines();
    this.loadLines().catch(() => {});
    this.setMarkers();
    this.readout(null);
    $("chart-msg").hidden = shown.length > 0;
    $("chart-msg").textContent = "Waiting for candles…";
  },
  /** The lines of `lineData` on the chart: a line already drawn gets its new points (no
   * series is re-created on every closed bar: the pointer's crosshair stays). */
  drawLines() {
    const LC = window.LightweightCharts;
    const wanted = [];
    for (const data of (this.lineData ?? []).filter((d) => d.symbol === state.selected)) {
      for (const name of [...data.price_lines, ...data.pane_lines]) {
        wanted.push({ label: `${data.variant} ${name}`, name, data,
                      pane: data.price_lines.includes(name) ? 0 : 1 });  // RSI, MACD: below
      }
    }
    const labels = new Set(wanted.map((w) => w.label));
    for (const line of this.lines.filter((l) => !labels.has(l.label))) this.api.removeSeries(line.series);
    const kept = new Map(this.lines.filter((l) => labels.has(l.label)).map((l) => [l.label, l]));
    this.lines = [];
    const legend = [];
    wanted.forEach((w, n) => {
      let line = kept.get(w.label);
      if (!line) {
        const colour = LINE_COLOURS[n % LINE_COLOURS.length];
        const series = this.api.addSeries(LC.LineSeries, {
          color: colour, lineWidth: 2, priceLineVisible: false, lastValueVisible: false,
          crosshairMarkerVisible: false,
        }, w.pane);
        line = { series, label: w.label, colour };
      }
      line.series.setData(w.data.points
        .filter((p) => p.values[w.name] !== null && p.values[w.name] !== undefined)
        .map((p) => ({ time: p.time_ms / 1000, value: p.values[w.name] })));
      this.lines.push(line);
      legend.push(`<span><i style="background:${line.colour}"></i>${esc(w.label)}</span>`);
    });
    legend.push(...state.variants.map((v) =>
      `<span><i style="background:${state.colours[v.name]}"></i>${esc(v.name)} trades</span>`));
    $("legend").innerHTML = legend.join("");
  },
  closed() {
    // A closed 1m candle: rebuild the view's bars (cheap) and redraw the last ones.
    if (!this.api) return;
    const prevLen = this.bars.length;
    const bars = viewBars(state.selected, state.view);
    if (bars.length < prevLen || bars.length - prevLen > 2) { this.reset(); return; }
    this.bars = bars;
    const last = bars.at(-1);
    try {
      this.candles.update(candleRow(last));
      this.volume.update(volumeRow(last));
    } catch { this.reset(); return; }
    $("chart-msg").hidden = true;
    this.loadLines().catch(() => {});  // the bar just closed: the server's new values
    this.live();
  },
  live() {
    if (!this.api) return;
    const open = state.open[state.selected];
    // The service's bar in progress (/ws) when it has one for the view; else the page's own.
    const served = state.view === "1m" ? null
      : state.viewFeed.openBar(state.selected, state.view, this.bars.at(-1)?.time, open);
    if (!open && !served) return;
    const bar = served ?? L.liveBar(this.bars, open, this.minutes());
    try {
      this.candles.update(candleRow(bar));
      this.volume.update(volumeRow(bar));
      $("chart-msg").hidden = true;
    } catch { /* an update older than the last bar: ignore */ }
    if (!$("chart-readout").dataset.hovered) this.readout(null);
  },
  setMarkers() {
    if (!this.markers) return;
    this.markers.setMarkers(
      L.tradeMarkers(state.trades, state.selected, this.minutes(), state.colours));
  },
};

state.chart = chart; // read by the browser tests (series data)

const candleRow = (b) => ({ time: b.time / 1000, open: b.open, high: b.high, low: b.low, close: b.close });
const volumeRow = (b) => ({
  time: b.time / 1000, value: Number.isFinite(b.volume) ? b.volume : 0,
  color: b.close >= b.open ? "rgba(34,197,94,0.35)" : "rgba(239,68,68,0.35)",
});
function lineRows(bars, values) {
  const rows = [];
  values.forEach((v, i) => { if (v !== null) rows.push({ time: bars[i].time / 1000, value: v }); });
  return rows;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

/** The vendored copy (scripts/install.sh); a public CDN only when it is missing. */
async function loadChartLibrary() {
  try { await loadScript(LOCAL_CHART); } catch { await loadScript(CDN_CHART); }
}

// ---------------------------------------------------------------- rendering

function render() {
  state.renderQueued = false;
  const all = state.dirty.has("all");
  const d = (p) => all || state.dirty.has(p);
  if (all) { chart.reset(); markTabs(); }
  if (d("kpi") || d("positions")) renderKpis();
  if (d("variants") || d("positions") || d("signals")) renderVariants();
  if (d("positions")) renderPositions();
  if (d("trades")) renderTrades();
  if (d("signals")) renderSignals();
  if (!all && d("chart-markers")) { chart.setMarkers(); chart.readout(null); }
  state.dirty.clear();
  if ($("toasts").lastElementChild) placeToasts(); // rows may have moved under a toast
}

function signCls(n) { return n > 0 ? "up" : n < 0 ? "down" : ""; }
function signed(n, digits = 2) { return `${n > 0 ? "+" : ""}${L.fmt(n, digits)}`; }
function quoteOf(symbol) {
  for (const q of ["USDT", "FDUSD", "USDC", "BUSD", "BTC", "ETH", "BNB"]) {
    if (symbol?.endsWith(q)) return q;
  }
  return "";
}
function timeText(ms) { return L.formatTime(ms, state.tz); }
function uptimeText(s) {
  if (!Number.isFinite(s)) return "—";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${Math.floor(s % 60)}s` : `${Math.floor(s)}s`;
}

function renderKpis() {
  const now = state.health?.now_ms ?? Date.now();
  $("kpi-prices").innerHTML = state.symbols.map((sym) => {
    const candles = state.candles[sym] ?? [];
    // The market's newest time the page knows (health's now_ms is up to 5 s old: at speed
    // 60, five market minutes, which made a full day read "since start").
    const newest = Math.max(state.open[sym]?.time ?? 0, (candles.at(-1)?.time ?? 0) + 60_000, now);
    const c = L.change24h(candles, state.prices[sym], newest);
    const digits = L.priceDigits(c.last);
    return `<article class="card kpi price${sym === state.selected ? " selected" : ""}"
        data-symbol="${esc(sym)}" data-testid="price-${esc(sym)}">
      <h2>${esc(sym)}</h2>
      <div class="kpi-value">${L.fmt(c.last, digits)}</div>
      <div class="kpi-sub ${signCls(c.change)}">${signed(c.change, digits)}
        (${Number.isFinite(c.pct) ? signed(c.pct) : "—"} %) · ${c.since === "24h" ? "24 h" : "since start"}</div>
    </article>`;
  }).join("");

  // The server's figures (execution.accounts via /performance): the page adds up nothing.
  const total = state.performance?.total;
  const quote = quoteOf(state.symbols[0]);
  const pnl = L.num(total?.pnl);
  const pct = L.num(total?.return_pct);
  $("pnl-total").textContent = total ? `${signed(pnl)} ${quote}` : "—";
  $("pnl-total").className = `kpi-value ${signCls(pnl)}`;
  $("pnl-pct").textContent = Number.isFinite(pct) ? `${signed(pct)} % of capital` : "— %";
  $("pnl-realized").textContent = total ? signed(L.num(total.realized_pnl)) : "—";
  $("pnl-unrealized").textContent = total ? signed(L.num(total.unrealized_pnl)) : "—";
  const open = state.positions.filter((p) => positionQty(p) > 0);
  $("open-count").textContent = String(open.length);
  $("open-detail").textContent = open.length
    ? open.map((p) => `${p.variant} ${p.symbol}`).join(", ") : "flat";

  const feed = L.feedStatus(state.wsOpen, state.health, now);
  $("feed-status").textContent = feed;
  $("feed-status").dataset.status = feed;
  const mode = state.health?.mode ?? "—";
  $("feed-mode").textContent = mode;
  $("mode").textContent = mode;
  $("uptime").textContent = uptimeText(state.health?.uptime_s);
}

function lastSignal(variant, symbol) {
  for (let i = state.signals.length - 1; i >= 0; i--) {
    const s = state.signals[i];
    if (s.variant === variant && s.symbol === symbol) return s;
  }
  return null;
}

function renderVariants() {
  $("variants").innerHTML = state.variants.map((v) => {
    const pct = L.num(v.stop_loss) * 100;
    const rows = state.symbols.map((sym) => {
      const pos = state.positions.find((p) => p.variant === v.name && p.symbol === sym);
      const qty = pos ? positionQty(pos) : 0;
      const long = qty > 0;
      const sig = lastSignal(v.name, sym);
      const lastClosed = state.candles[sym]?.at(-1)?.time ?? 0;
      // A crossover signal belongs to the candle that made it; after a newer close it is HOLD.
      const fresh = sig && (sig.reason !== "signal" || Number(sig.ref) >= lastClosed);
      const action = fresh ? L.signalAction(sig) : "HOLD";
      const sigText = sig
        ? `${esc(sig.side)}${sig.strength ? ` ${esc(sig.strength)}` : ""} · ${timeText(sig.time_ms)} ${L.tzLabel(state.tz)}`
        : "none yet";
      const entry = long ? L.num(pos.entry_price) : NaN;
      const stop = long ? L.num(pos.stop_price ?? entry * (1 - L.num(v.stop_loss))) : NaN;
      const price = state.prices[sym];
      const pnl = long ? L.num(pos.unrealized_pnl) : NaN;  // the server's, at its mark
      const dg = L.priceDigits(price);
      return `<dl class="vrow" data-symbol="${esc(sym)}">
        <dt class="sym">${esc(sym)}</dt>
        <dd><span class="pill ${action}" title="signal now" data-testid="signal-${esc(v.name)}-${esc(sym)}">${action}</span></dd>
        <dt>Last signal</dt><dd>${sigText}</dd>
        <dt>Position</dt><dd><span class="pill ${long ? "LONG" : "NONE"}">${long ? "LONG" : "NONE"}</span>${
          long ? ` ${L.fmt(qty, 6).replace(/\.?0+$/, "")} · <span class="${signCls(pnl)}">${signed(pnl)}</span>` : ""}</dd>
        <dt>Entry / stop</dt><dd>${long ? `${L.fmt(entry, dg)} / ${L.fmt(stop, dg)}` : "—"}</dd>
      </dl>`;
    }).join("");
    return `<article class="card variant" id="variant-${esc(v.name)}" style="--vc:${state.colours[v.name]}">
      <h2><span>Variant ${esc(v.name)}</span>
        <span class="stop" data-testid="stop-${esc(v.name)}">stop-loss ${L.fmt(pct, pct % 1 ? 1 : 0)}%</span></h2>
      ${rows}
    </article>`;
  }).join("");
}

function vtag(name) {
  return `<span class="vtag" style="--vc:${state.colours[name] ?? "#fff"}">${esc(name)}</span>`;
}

function setRows(tableId, emptyId, rows) {
  const html = rows.join("");
  const body = $(tableId).tBodies[0];
  if (body.dataset.html !== html) {
    body.innerHTML = html;
    body.dataset.html = html;
    labelCells($(tableId), [...body.rows]);
  }
  $(emptyId).hidden = rows.length > 0;
}

/** Each cell names its column (`data-label`): on a phone the rows are cards of labelled cells. */
/**
 * Rows keyed by variant/symbol and updated cell by cell: prices move every second, and a row
 * rebuilt under the pointer would swallow a click on its Close button.
 */
function renderPositions() {
  const open = state.positions.filter((p) => positionQty(p) > 0);
  const body = $("positions-table").tBodies[0];
  const keep = new Set();
  for (const p of open) {
    const key = positionKey(p);
    keep.add(key);
    let tr = [...body.rows].find((r) => r.dataset.key === key);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.key = key;
      tr.innerHTML = `<td>${vtag(p.variant)}</td><td>${esc(p.symbol)}</td><td class="num"></td>
        <td class="num"></td><td class="num"></td><td class="num"></td><td class="num"></td>
        <td class="act"><button type="button" class="close-btn" data-variant="${esc(p.variant)}"
          data-symbol="${esc(p.symbol)}">Close</button></td>`;
      labelCells($("positions-table"), [tr]);
      body.appendChild(tr);
    }
    const qty = positionQty(p);
    const entry = L.num(p.entry_price);
    const price = state.prices[p.symbol];
    const v = state.variants.find((x) => x.name === p.variant);
    const stop = L.num(p.stop_price ?? (v ? entry * (1 - L.num(v.stop_loss)) : NaN));
    const pnl = L.num(p.unrealized_pnl);  // the server's, at its mark price
    const dg = L.priceDigits(entry);
    const cells = tr.cells;
    setCell(cells[2], String(p.qty ?? p.quantity));
    setCell(cells[3], L.fmt(entry, dg));
    setCell(cells[4], L.fmt(price, dg));
    setCell(cells[5], L.fmt(stop, dg));
    setCell(cells[6], signed(pnl), `num ${signCls(pnl)}`);
  }
  for (const tr of [...body.rows]) if (!keep.has(tr.dataset.key)) tr.remove();
  $("positions-empty").hidden = open.length > 0;
}

function setCell(td, text, cls) {
  if (td.textContent !== text) td.textContent = text;
  if (cls !== undefined && td.className !== cls) td.className = cls;
}

function renderTrades() {
  const rows = state.trades.slice(-MAX_ROWS).reverse().map((t) => {
    const price = L.tradePrice(t);
    const dg = L.priceDigits(price);
    const realized = L.num(t.realized_pnl);
    const fee = L.num(t.commission ?? t.fee);
    return `<tr><td>${timeText(L.tradeTime(t))}</td><td>${vtag(t.variant)}</td><td>${esc(t.symbol)}</td>
      <td><span class="pill ${esc(t.side)}">${esc(t.side)}</span></td>
      <td class="num">${esc(t.executed_qty ?? t.quantity ?? t.qty)}</td><td class="num">${L.fmt(price, dg)}</td>
      <td class="num">${Number.isFinite(fee) ? `${L.fmt(fee, 6)} ${esc(t.commission_asset ?? "")}` : "—"}</td>
      <td class="num ${signCls(realized)}">${Number.isFinite(realized) ? signed(realized) : "—"}</td>
      <td>${esc(t.reason ?? "")}</td></tr>`;
  });
  setRows("trades-table", "trades-empty", rows);
}

function renderSignals() {
  const f = { symbol: $("f-symbol").value, variant: $("f-variant").value, action: $("f-action").value };
  const rows = L.filterSignals(state.signals, f).slice(-MAX_ROWS).reverse().map((s) => {
    const dg = L.priceDigits(s.price);
    const action = L.signalAction(s);
    return `<tr><td>${timeText(s.time_ms)}</td><td>${vtag(s.variant)}</td><td>${esc(s.symbol)}</td>
      <td><span class="pill ${action}">${action}</span></td><td>${esc(s.strength ?? "")}</td>
      <td>${esc(s.reason)}</td><td class="num">${L.fmt(s.price, dg)}</td>
      <td class="num">${L.fmt(s.ema, dg)}</td><td class="num">${L.fmt(s.sma, dg)}</td>
      <td>${esc(s.action ?? "")}</td></tr>`;
  });
  setRows("signals-table", "signals-empty", rows);
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

/*
 * Toasts never cover a control: the stack goes to the first screen corner (below the sticky
 * header) where it overlaps no visible button, field or tab, re-checked on every change, scroll
 * and resize. When no corner is free, the stack hides and the newest toast is docked in the top
 * bar, which holds a slot for it. At most 3 toasts (2 on a phone); fills close together share one.
 */
const recentKeys = new Map(); // dedupe key -> time shown

const rejectKey = (variant, symbol, side) => `reject:${variant}:${symbol}:${side}`;

/** Orders this page sent in the last ASKED_MS: their fills are always answered with a toast. */
const ASKED_MS = 15_000;
const asked = new Map(); // variant:symbol:side -> until (ms)
function asking(variant, symbol, side) { asked.set(`${variant}:${symbol}:${side}`, Date.now() + ASKED_MS); }
function askedHere(d) {
  const key = `${d.variant}:${d.symbol}:${d.side}`;
  const until = asked.get(key);
  if (until === undefined) return false;
  asked.delete(key);
  return until >= Date.now();
}

function toastCap() { return window.innerWidth <= 640 ? 2 : 3; }

function toast(text, kind = "info", key = null) {
  const now = Date.now();
  if (key) {
    for (const [k, t] of recentKeys) if (now - t > DEDUPE_MS) recentKeys.delete(k);
    if (recentKeys.has(key)) return null;
    recentKeys.set(key, now);
  }
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  el.title = "click to dismiss";
  el.addEventListener("click", () => { el.remove(); placeToasts(); });
  const box = $("toasts");
  box.appendChild(el);
  while (box.children.length > toastCap()) box.firstChild.remove();
  expire(el, kind === "error" || kind === "reject" ? 8000 : 4500);
  placeToasts();
  return el;
}

function expire(el, ms) {
  clearTimeout(el.expiry);
  el.expiry = setTimeout(() => { el.remove(); placeToasts(); }, ms);
}

/**
 * A notification's event (the /ws `notice`: what webhooks and Telegram get, in the same words):
 * fills share the fill toast, a rejection is said once (the form's reply may have said it).
 */
function noticeToast(n) {
  const d = n.data ?? {};
  if (n.type === "fill") fillToast(n.text, d.reason === "stop_loss", askedHere(d));
  else if (n.type === "rejected") toast(n.text, "reject", rejectKey(d.variant, d.symbol, d.side));
  else if (n.type === "reset") toast(n.text, "error");
  else toast(n.text, "info");
}

/**
 * A fill: a new toast, or one more line in the fill toast still showing. A fill toast lives
 * FILL_TOAST_MS from its first fill whatever follows (steady trading never keeps one up), and
 * the strategy's fills in the FILL_QUIET_MS after it raise none (the trades table lists them
 * all); a person's own order (reason manual) and a stop-loss exit are always said.
 */
let fillQuietUntil = 0;
function fillToast(line, stop = false, asked = false) {
  if (stop) { toast(line, "stop"); return; } // a stop-loss exit: its own toast, never grouped
  const last = $("toasts").querySelector(".toast.fill");
  if (last && last.fills) {
    last.fills.push(line);
    const shown = last.fills.slice(-3);
    const more = last.fills.length - shown.length;
    last.textContent = `${last.fills.length} fills: ${shown.join(" · ")}${more ? ` · +${more} more` : ""}`;
    placeToasts();
    return;
  }
  if (Date.now() < fillQuietUntil && !asked) return; // a person's own order is always answered
  const el = toast(line, "fill");
  el.fills = [line];
  expire(el, FILL_TOAST_MS);
  fillQuietUntil = Date.now() + FILL_TOAST_MS + FILL_QUIET_MS;
}

const CONTROLS = "button, select, input, textarea, a[href], [role='tab']";

/** Visible controls' rectangles in the viewport (those under the sticky header excluded). */
function controlRects(top) {
  const out = [];
  for (const el of document.querySelectorAll(CONTROLS)) {
    if (el.closest("#toasts, dialog")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.bottom <= top || r.top >= window.innerHeight || r.right <= 0 || r.left >= window.innerWidth) continue;
    out.push(r);
  }
  return out;
}

function headerBottom() {
  const bar = $("topbar").getBoundingClientRect().bottom;
  const banner = $("banner");
  return banner.hidden ? bar : Math.max(bar, banner.getBoundingClientRect().bottom);
}

let placeQueued = false;
function placeToasts() {
  if (placeQueued) return;
  placeQueued = true;
  requestAnimationFrame(() => { placeQueued = false; placeNow(); });
}

function placeNow() {
  const box = $("toasts");
  const dock = $("toast-dock");
  const newest = box.lastElementChild;
  if (!newest) { dock.replaceChildren(); box.dataset.spot = "none"; return; }
  box.dataset.spot = "measure"; // laid out off-screen to measure its size
  const size = box.getBoundingClientRect();
  const top = headerBottom();
  const place = L.toastSpot(size, { width: window.innerWidth, height: window.innerHeight },
    top, controlRects(top));
  if (place) {
    box.dataset.spot = place.spot;
    box.style.setProperty("--toast-top", `${Math.round(top)}px`);
    dock.replaceChildren();
  } else {
    box.dataset.spot = "docked";
    const copy = newest.cloneNode(true);
    copy.title = newest.textContent;
    dock.replaceChildren(copy);
  }
}

let tokenPrompt = null;
/** Asks for the API token once (kept in sessionStorage); resolves true when one was given. */
function askToken(why, refused = false) {
  if (tokenPrompt) return tokenPrompt;
  const dialog = $("token-dialog");
  if (refused) { // a wrong token is forgotten, not sent again
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
  }
  tokenPrompt = new Promise((resolve) => {
    dialog.dataset.refused = refused ? "1" : "0";
    dialog.querySelector("p").textContent = `${why} It is kept in this tab only.`;
    $("token-input").value = "";
    dialog.onclose = () => {
      const value = $("token-input").value.trim();
      tokenPrompt = null;
      if (dialog.returnValue === "ok" && value) {
        state.token = value;
        sessionStorage.setItem(TOKEN_KEY, value);
        $("token-btn").hidden = false;
        resolve(true);
      } else resolve(false);
    };
    dialog.showModal();
  });
  return tokenPrompt;
}

// ---------------------------------------------------------------- user actions

function wireControls() {
  $("symbol-tabs").addEventListener("click", (e) => {
    const btn = e.target.closest("button");
    if (btn?.dataset.remove) removeSymbol(btn.dataset.remove, btn);
    else if (btn?.dataset.symbol) selectSymbol(btn.dataset.symbol);
  });
  $("symbol-form").addEventListener("submit", (e) => { e.preventDefault(); addSymbol(); });
  $("tz-btn").addEventListener("click", () => setZone(state.tz === "utc" ? "local" : "utc"));
  window.addEventListener("scroll", placeToasts, { passive: true });
  window.addEventListener("resize", placeToasts);
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
  $("positions-table").addEventListener("click", async (e) => {
    const btn = e.target.closest("button.close-btn");
    if (!btn) return;
    const { variant, symbol } = btn.dataset;
    btn.disabled = true;
    asking(variant, symbol, "SELL");
    try {
      const out = await api(`/positions/${encodeURIComponent(variant)}/${encodeURIComponent(symbol)}/close`,
        { method: "POST" });
      if (!state.wsOpen) toast(`Close ${variant} ${symbol}: ${out?.status ?? "sent"}`, "fill");
      state.positions = listOf(await api("/positions"), "positions");
      state.trades = listOf(await api(`/trades?limit=${MAX_ROWS}`), "trades");
      markDirty("positions", "trades", "variants", "kpi", "chart-markers");
    } catch (err) {
      toast(`Close ${variant} ${symbol} rejected: ${err.message}`, "reject",
        rejectKey(variant, symbol, "SELL"));
      btn.disabled = false;
    }
  });
  $("order-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const order = {
      symbol: $("order-symbol").value, side: $("order-side").value,
      quantity: $("order-qty").value.trim(), variant: $("order-variant").value,
    };
    const problem = L.validateOrder(order, state.symbols, state.variants.map((v) => v.name));
    $("order-error").textContent = problem ?? "";
    $("order-status").textContent = "";
    if (problem) return;
    $("order-submit").disabled = true;
    asking(order.variant, order.symbol, order.side);
    try {
      const out = await api("/orders", { method: "POST", body: order });
      // The fill itself is announced by the live `trade` event; the form says what was sent.
      $("order-status").textContent = `${out?.status ?? "sent"}: ${order.variant} ${order.side} ${
        L.tradeQty(out)} ${order.symbol} @ ${L.fmt(L.tradePrice(out), L.priceDigits(L.tradePrice(out)))}`;
    } catch (err) {
      $("order-error").textContent = err.message;
      // The service also announces the refusal on /ws: the shared key makes it one toast.
      toast(`Order rejected: ${err.message}`, "reject",
        rejectKey(order.variant, order.symbol, order.side));
    } finally {
      $("order-submit").disabled = false;
    }
  });
  $("token-btn").hidden = !state.token;
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

/** Follow one more symbol: POST /symbols/{symbol}, then re-read the snapshot. */
async function addSymbol() {
  const input = $("symbol-input");
  const sym = L.cleanSymbol(input.value);
  $("symbol-error").textContent = "";
  if (!sym) { $("symbol-error").textContent = "a symbol is 5-20 letters or digits, e.g. BNBUSDT"; return; }
  if (state.symbols.includes(sym)) { selectSymbol(sym); input.value = ""; return; }
  $("symbol-add").disabled = true;
  try {
    await api(`/symbols/${encodeURIComponent(sym)}`, { method: "POST" });
    input.value = "";
    await loadSnapshot();
    selectSymbol(sym);
    toast(`Now following ${sym}`, "info");
  } catch (err) {
    $("symbol-error").textContent = err.message;
  } finally {
    $("symbol-add").disabled = false;
  }
}

/** Stop following a symbol (DELETE /symbols/{symbol}); open positions are closed only if confirmed. */
async function removeSymbol(sym, btn) {
  if (!window.confirm(`Stop following ${sym}?`)) return;
  btn.disabled = true;
  const path = `/symbols/${encodeURIComponent(sym)}`;
  state.removing.add(sym); // nothing more is asked about it meanwhile (it would be a 404)
  try {
    try {
      await api(path, { method: "DELETE" });
    } catch (err) {
      if (err.status !== 409) throw err;
      if (!window.confirm(`${err.message}\n\nClose the open positions of ${sym} and remove it?`)) {
        btn.disabled = false;
        return;
      }
      await api(`${path}?force=true`, { method: "DELETE" });
    }
    delete state.candles[sym];
    delete state.open[sym];
    await loadSnapshot();
    toast(`Stopped following ${sym}`, "info");
  } catch (err) {
    toast(`Remove ${sym} failed: ${err.message}`, "error");
    btn.disabled = false;
  } finally {
    state.removing.delete(sym);
  }
}

// ---------------------------------------------------------------- start

state.toast = toast; // the browser tests raise toasts through the page's own code

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
    api, apiPage, state, toast, esc, onChange: () => loadSnapshot().catch(() => {}),
    editVariant: (name) => editor.open(name).catch((e) => toast(`Edit ${name}: ${e.message}`, "error")),
  });
  await state.ab.refresh();
  state.results = createResults({ api, apiPage, esc, state, toast });
  state.logs = createLogView({ esc, state });
  state.results.variants(state.variants.map((v) => v.name));
  state.results.load();
  connect();
  setInterval(refreshHealth, HEALTH_EVERY_MS);
  setInterval(() => markDirty("kpi"), 1000);
  document.body.dataset.ready = "1";
}

main();
