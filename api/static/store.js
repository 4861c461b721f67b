// The page's one store of the server's state: the REST reads fill it and the /ws events keep it
// current, through the reducers below only. Views read it and never write it; the page's own
// state (the selected symbol, the view, the connection) stays in app.js.
import * as L from "./logic.js";

const MAX_CANDLES = 3000; // per symbol: about two days of minutes
const MAX_SIGNALS = 2000;

export const positionKey = (p) => `${p.variant}/${p.symbol}`;
export const tradeKey = (t) =>
  t.client_order_id ?? t.order_id ?? `${t.variant}/${t.symbol}/${t.time_ms}/${t.side}`;

function upsertBy(list, item, key) {
  const k = key(item);
  const i = list.findIndex((x) => key(x) === k);
  if (i >= 0) list[i] = item;
  else list.push(item);
}

/**
 * The store over `data` (the object the views read): its server fields are set here.
 * Each reducer returns whether anything changed, so the caller redraws only then.
 */
export function createStore(data) {
  Object.assign(data, {
    symbols: [], variants: [], candles: {}, open: {}, prices: {}, health: null, strategy: null,
    performance: null, positions: [], trades: [], signals: [],
  });

  function updatePrice(symbol) {
    const open = data.open[symbol];
    const closed = data.candles[symbol] ?? [];
    if (open) data.prices[symbol] = open.close;
    else if (closed.length) data.prices[symbol] = closed[closed.length - 1].close;
  }

  return {
    data,
    /** GET /health, /symbols, /strategy, /positions, /trades and /signals read together. */
    loaded({ health, symbols, strategy, positions, trades, signals }) {
      data.health = health;
      data.strategy = strategy;
      const rows = L.listOf(symbols, "symbols");
      this.symbols(rows.map((s) => (typeof s === "string" ? s : s.symbol)));
      for (const s of rows) {
        const p = L.num(s.last_price);
        if (Number.isFinite(p)) data.prices[s.symbol] = p;
      }
      this.variants(strategy?.variants ?? []);
      data.positions = L.listOf(positions, "positions");
      data.trades = L.listOf(trades, "trades");
      data.signals = L.listOf(signals, "signals");
    },
    symbols(list) {
      data.symbols = list;
      for (const s of list) data.candles[s] ??= [];
    },
    /** The variants as GET /strategy serves them. */
    variants(list) { data.variants = list; },
    /** GET /candles/{symbol}: its closed candles and the one being built. */
    candlesRead(symbol, body) {
      data.candles[symbol] = L.listOf(body, "candles").map(L.normCandle);
      data.open[symbol] = body.open_candle ? L.normCandle(body.open_candle) : null;
      updatePrice(symbol);
    },
    /** A closed 1m `candle`: false when older than what is held and unknown (a re-read brings it). */
    closed(d) {
      const c = L.normCandle(d);
      const sym = d.symbol;
      if (data.open[sym] && data.open[sym].time <= c.time) data.open[sym] = null;
      const list = (data.candles[sym] ??= []);
      const last = list[list.length - 1];
      if (!last || c.time > last.time) list.push(c);
      else {
        const i = list.findIndex((x) => x.time === c.time);
        if (i < 0) return false;
        list[i] = c;
      }
      if (list.length > MAX_CANDLES) list.splice(0, list.length - MAX_CANDLES);
      updatePrice(sym);
      return true;
    },
    /** A `candle_update` of the 1m candle being built: false when it is not newer. */
    live(d) {
      const c = L.normCandle(d);
      const last = data.candles[d.symbol]?.at(-1);
      if (last && c.time <= last.time) return false;
      data.open[d.symbol] = c;
      updatePrice(d.symbol);
      return true;
    },
    tick(d) {
      const p = L.num(d.price);
      if (!Number.isFinite(p)) return false;
      data.prices[d.symbol] = p;
      return true;
    },
    signal(d) {
      data.signals.push(d);
      if (data.signals.length > MAX_SIGNALS) data.signals.splice(0, MAX_SIGNALS / 2);
    },
    trade(d) { upsertBy(data.trades, d, tradeKey); },
    position(d) { upsertBy(data.positions, d, positionKey); },
    positionsRead(body) { data.positions = L.listOf(body, "positions"); },
    tradesRead(body) { data.trades = L.listOf(body, "trades"); },
    health(h) { data.health = h; },
    /** A `status` message: the health fields it carries. */
    status(d) {
      if (d && typeof d === "object" && d.symbols) data.health = { ...data.health, ...d };
    },
    /** A variant paused or resumed (POST /variants/{name}/pause|resume): its state and reason
     * until the next health read. */
    variantState(name, state, reason) {
      if (!data.health?.variants) return;
      data.health = { ...data.health, variants: data.health.variants.map((x) =>
        (x.variant === name ? { ...x, state, reason } : x)) };
    },
    strategy(s) { data.strategy = s; },
    performance(p) { data.performance = p; },
    /** The /ws `snapshot`: positions, status and performance as the connection starts. */
    snapshot(d) {
      if (Array.isArray(d.positions)) data.positions = d.positions;
      if (d.status && typeof d.status === "object") data.health = d.status;
      if (d.performance) data.performance = d.performance;
    },
  };
}
