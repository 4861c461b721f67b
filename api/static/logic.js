// Pure functions of the dashboard: no DOM, no network. Imported by app.js and by the tests (node).
// Money and indicator values arrive from the API; the page only displays them (it computes no
// P&L, return or indicator of its own).

export const MINUTE_MS = 60_000;
export const VIEW_MINUTES = { "1m": 1, "5m": 5, "15m": 15, "1h": 60 };

/** A number from an API value (decimal string, number or null). NaN when absent. */
export function num(value) {
  if (value === null || value === undefined || value === "") return NaN;
  return typeof value === "number" ? value : Number(value);
}

/**
 * A candle as the API sends it (CandleOut: open_time, open, high, low, close, volume; REST and
 * /ws alike) as {time (ms), open, high, low, close, volume} numbers.
 */
export function normCandle(raw) {
  return {
    time: Number(raw.open_time), open: num(raw.open), high: num(raw.high), low: num(raw.low),
    close: num(raw.close), volume: num(raw.volume),
  };
}

/**
 * Bars of `minutes` minutes built from 1-minute candles (sorted by time; later duplicates of a
 * minute replace earlier ones). A bar starts on a multiple of its length in epoch time, as
 * Binance's 5m and 15m klines do; a bar of a partly covered period holds what there is.
 */
export function aggregate(candles, minutes) {
  const span = minutes * MINUTE_MS;
  const byMinute = new Map();
  for (const c of candles) byMinute.set(c.time, c);
  const sorted = [...byMinute.values()].sort((a, b) => a.time - b.time);
  if (minutes === 1) return sorted.map((c) => ({ ...c }));
  const out = [];
  let bar = null;
  for (const c of sorted) {
    const start = Math.floor(c.time / span) * span;
    if (bar === null || bar.time !== start) {
      bar = { time: start, open: c.open, high: c.high, low: c.low, close: c.close,
              volume: c.volume };
      out.push(bar);
    } else {
      bar.high = Math.max(bar.high, c.high);
      bar.low = Math.min(bar.low, c.low);
      bar.close = c.close;
      bar.volume += c.volume;
    }
  }
  return out;
}

/**
 * The bar the chart shows for the still-open minute: the open 1m candle merged into the bars
 * of this view. Returns the updated last bar (a new object) without changing `bars`.
 */
export function liveBar(bars, openCandle, minutes) {
  const span = minutes * MINUTE_MS;
  const start = Math.floor(openCandle.time / span) * span;
  const last = bars.length ? bars[bars.length - 1] : null;
  if (last && last.time === start && minutes > 1) {
    return {
      time: start, open: last.open, high: Math.max(last.high, openCandle.high),
      low: Math.min(last.low, openCandle.low), close: openCandle.close,
      volume: last.volume + openCandle.volume,
    };
  }
  return { ...openCandle, time: start };
}

/**
 * Last price and its change over the last 24 h: the reference is the open of the first candle
 * within 24 h of `nowMs`; when the history is shorter, the change is since the first candle.
 */
export function change24h(candles, lastPrice, nowMs) {
  if (!candles.length) return { last: lastPrice ?? NaN, change: NaN, pct: NaN, since: "start" };
  const from = nowMs - 24 * 60 * MINUTE_MS;
  const first = candles.find((c) => c.time >= from) ?? candles[candles.length - 1];
  const last = Number.isFinite(lastPrice) ? lastPrice : candles[candles.length - 1].close;
  // The first candle of a full day's window starts within a minute after `from`.
  const since = candles[0].time <= from + MINUTE_MS ? "24h" : "start";
  const change = last - first.open;
  return { last, change, pct: first.open ? (change / first.open) * 100 : NaN, since };
}

/** A trade's (TradeOut: GET /trades and the /ws `trade`) time, price and quantity: its fill's
 * time (a fill the exchange did not time is placed at its signal), average price, executed qty. */
export function tradeTime(t) { return Number(t.fill_time_ms ?? t.signal_time_ms); }
export function tradePrice(t) { return num(t.price); }
export function tradeQty(t) { return num(t.executed_qty); }

/**
 * Chart markers for trades (fills) of one symbol in a view of `minutes`: BUY below the bar,
 * SELL above, in the variant's colour. Sorted by time, as the chart requires.
 */
export function tradeMarkers(trades, symbol, minutes, colours) {
  // One marker per bar, variant and side, with the count when several fills share it: a 1h
  // bar of a busy run holds ~20 fills, which as separate arrows hid the bars.
  const span = minutes * MINUTE_MS;
  const groups = new Map();
  for (const t of trades) {
    if (t.symbol !== symbol) continue;
    const ms = tradeTime(t);
    if (!Number.isFinite(ms)) continue;
    const time = Math.floor(ms / span) * span / 1000;
    const buy = String(t.side).toUpperCase() === "BUY";
    const key = `${time}|${t.variant}|${buy}`;
    const g = groups.get(key);
    if (g) g.count += 1;
    else groups.set(key, { time, variant: String(t.variant), buy, count: 1 });
  }
  return [...groups.values()]
    .sort((a, b) => a.time - b.time || (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0)
      || Number(b.buy) - Number(a.buy))
    .map((g) => ({
      time: g.time,
      position: g.buy ? "belowBar" : "aboveBar",
      shape: g.buy ? "arrowUp" : "arrowDown",
      color: colours[g.variant] ?? "#888",
      text: g.count > 1 ? `${g.variant} ×${g.count}` : g.variant,
    }));
}

/**
 * The readout's fills of a bar: each fill while there are at most `most`, else one line per
 * variant and side with the count and the quantity added up as text by the caller.
 */
export function fillLines(fills, most = 2) {
  if (fills.length <= most) return fills.map((t) => ({ variant: t.variant, side: t.side, count: 1, fill: t }));
  const groups = new Map();
  for (const t of fills) {
    const key = `${t.variant}|${t.side}`;
    const g = groups.get(key);
    if (g) { g.count += 1; g.fill = null; } else groups.set(key, { variant: t.variant, side: t.side, count: 1, fill: t });
  }
  return [...groups.values()]; // a group of one keeps its fill (quantity and price shown)
}

/** Signals filtered by symbol, variant and action ("" means any). */
export function filterSignals(signals, { symbol = "", variant = "", action = "" } = {}) {
  return signals.filter(
    (s) =>
      (!symbol || s.symbol === symbol) &&
      (!variant || s.variant === variant) &&
      (!action || signalAction(s) === action),
  );
}

/** BUY / SELL / HOLD of a signal record. */
export function signalAction(s) {
  const side = String(s.side ?? s.action ?? "HOLD").toUpperCase();
  return side === "BUY" || side === "SELL" ? side : "HOLD";
}

/**
 * Tracks the WebSocket `seq`: "ok" for the next number, "gap" when some were missed (the page
 * then re-reads the REST snapshot), "old" for a repeat or an earlier number (ignored).
 */
export class SeqTracker {
  constructor() { this.last = null; }
  reset(seq = null) { this.last = seq; }
  check(seq) {
    if (typeof seq !== "number") return "ok";
    if (this.last === null || seq === this.last + 1) { this.last = seq; return "ok"; }
    if (seq <= this.last) return "old";
    this.last = seq;
    return "gap";
  }
}

/** Feed status shown on the KPI card: live, reconnecting or stale. */
export function feedStatus(wsOpen, health, nowMs, staleAfterMs = 10_000) {
  if (!wsOpen) return "reconnecting";
  if (!health) return "live";
  const feeds = Object.values(health.feeds ?? health.symbols ?? {});
  const states = feeds.map((f) => String(f.status ?? f).toLowerCase());
  if (states.some((s) => s === "reconnecting" || s === "backfilling")) return "reconnecting";
  if (states.some((s) => s === "stale")) return "stale";
  if (states.some((s) => s === "starting")) return "starting";
  if (health.last_event_ms && nowMs - health.last_event_ms > staleAfterMs) return "stale";
  return "live";
}

/** Checks the manual order form; returns an error text or null. Quantity stays a string. */
export function validateOrder({ symbol, side, quantity, variant }, symbols, variants) {
  if (!symbols.includes(symbol)) return `unknown symbol ${symbol}`;
  if (side !== "BUY" && side !== "SELL") return "side must be BUY or SELL";
  if (!variants.includes(variant)) return `unknown variant ${variant}`;
  const text = String(quantity).trim();
  if (!/^[-+]?\d+(\.\d+)?$/.test(text)) return "quantity must be a decimal number";
  if (!(Number(text) > 0)) return "quantity must be positive";
  return null;
}

/** The /ws URL for a page at `loc` (window.location), with the token when one is set. */
export function wsUrl(loc, token) {
  const proto = loc.protocol === "https:" ? "wss:" : "ws:";
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return `${proto}//${loc.host}/ws${query}`;
}

/** Reconnect delay: grows ×1.6 from 0.5 s to a 10 s cap, with ±20 % jitter. */
export function backoffMs(attempt, rand = Math.random) {
  const base = Math.min(10_000, 500 * 1.6 ** attempt);
  return Math.round(base * (0.8 + 0.4 * rand()));
}

/** A decimal string or number for display, with at most `digits` decimals, no float noise. */
export function fmt(value, digits = 2) {
  const n = num(value);
  if (!Number.isFinite(n)) return "—";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Price digits for a symbol's price level (BTC 2, small coins more). */
export function priceDigits(price) {
  const p = Math.abs(num(price));
  if (!Number.isFinite(p) || p >= 1000) return 2;
  if (p >= 1) return 4;
  return 6;
}

// ---------------------------------------------------------------- time zone

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** The parts of epoch `ms` in UTC (`tz` "utc") or in the browser's time zone ("local"). */
function parts(ms, tz) {
  const d = new Date(ms);
  return tz === "local"
    ? { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(),
        mi: d.getMinutes(), s: d.getSeconds() }
    : { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(),
        mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}

/** "MM-DD HH:MM:SS" of epoch `ms` in UTC or local time; "—" when there is no time. */
export function formatTime(ms, tz = "utc") {
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return "—";
  const p = parts(n, tz);
  return `${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/** "YYYY-MM-DD HH:MM" of epoch `ms` (the chart's crosshair label and the hover readout). */
export function formatMinute(ms, tz = "utc") {
  const p = parts(Number(ms), tz);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}`;
}

/**
 * The chart's tick label for `seconds` (lightweight-charts' TickMarkType: 0 year, 1 month,
 * 2 day of month, 3 time, 4 time with seconds).
 */
export function tickText(seconds, type, tz = "utc") {
  const p = parts(seconds * 1000, tz);
  if (type === 0) return String(p.y);
  if (type === 1) return `${p.y}-${pad(p.mo)}`;
  if (type === 2) return `${pad(p.mo)}-${pad(p.d)}`;
  if (type === 4) return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
  return `${pad(p.h)}:${pad(p.mi)}`;
}

/** The label of a time zone choice, shown next to every time. */
export const tzLabel = (tz) => (tz === "local" ? "local" : "UTC");

// ---------------------------------------------------------------- reconnect countdown

/** The banner's text while waiting to reconnect at `deadlineMs`. */
export function countdownText(deadlineMs, nowMs) {
  const left = (deadlineMs - nowMs) / 1000;
  return left > 0.05 ? `reconnecting in ${left.toFixed(1)} s…` : "reconnecting…";
}

// ---------------------------------------------------------------- chart readout

/** Fills of `symbol` whose time falls in the bar starting at `barMs` in a view of `minutes`. */
export function fillsInBar(trades, symbol, minutes, barMs) {
  const span = minutes * MINUTE_MS;
  return trades
    .filter((t) => t.symbol === symbol && Math.floor(tradeTime(t) / span) * span === barMs)
    .sort((a, b) => tradeTime(a) - tradeTime(b));
}

// ---------------------------------------------------------------- toasts

/** Whether two rectangles ({left, top, right, bottom}) share any area. */
export function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

export const TOAST_SPOTS = ["bottom-right", "top-right", "bottom-left", "top-left"];

/**
 * Where a toast stack of `size` ({width, height}) fits without covering any of `controls`
 * (rectangles in viewport coordinates): the first of TOAST_SPOTS that is free, in a viewport of
 * `view` ({width, height}) below a sticky header ending at `top`, `margin` from the edges.
 * Returns {spot, rect}, or null when every spot covers a control (the page then docks the
 * newest toast in its top bar).
 */
export function toastSpot(size, view, top, controls, margin = 12) {
  for (const spot of TOAST_SPOTS) {
    const left = spot.endsWith("right") ? view.width - margin - size.width : margin;
    const y = spot.startsWith("top") ? top + margin : view.height - margin - size.height;
    const rect = { left, top: y, right: left + size.width, bottom: y + size.height };
    if (rect.top < top || rect.left < 0) continue;
    if (!controls.some((c) => overlaps(rect, c))) return { spot, rect };
  }
  return null;
}

// ---------------------------------------------------------------- symbols

/** A symbol typed by a user, upper-cased; null when it cannot be one (letters and digits). */
export function cleanSymbol(text) {
  const s = String(text ?? "").trim().toUpperCase();
  return /^[A-Z0-9]{5,20}$/.test(s) ? s : null;
}

// ---------------------------------------------------------------- server bars

/**
 * The bars of a view: the service's closed bars of that interval (`server`, oldest first), then
 * the page's own bars (`local`, built from its 1m candles) that are newer than the last of them:
 * the interval in progress and any closed since the server's were read.
 */
export function mergeBars(server, local) {
  if (!server.length) return local.slice();
  const last = server[server.length - 1].time;
  return [...server, ...local.filter((b) => b.time > last)];
}

/** Whether the 1m candle opening at `timeMs` is the last minute of a bar of `minutes`. */
export function closesBar(timeMs, minutes) {
  return (timeMs + MINUTE_MS) % (minutes * MINUTE_MS) === 0;
}

/**
 * A closed bar into `list` (oldest first, by `time`): replaces the bar of the same time or
 * goes in its place, the oldest dropped beyond `max`. False when it is older than them all.
 */
export function upsertBar(list, bar, max = 1000) {
  let i = list.length;
  while (i > 0 && list[i - 1].time > bar.time) i--;
  if (i > 0 && list[i - 1].time === bar.time) list[i - 1] = bar;
  else if (i === 0 && list.length >= max) return false;
  else list.splice(i, 0, bar);
  if (list.length > max) list.splice(0, list.length - max);
  return true;
}

/** A list from a response that is a list or an object holding one under `key`. */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}
