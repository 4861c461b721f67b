// The chart's higher interval, live from /ws: the page subscribes to the selected interval on
// its connection (and unsubscribes the one before), and keeps the service's bars of it from the
// `candle` / `candle_update` events that name that interval. REST gives the history once.
import * as L from "./logic.js";

const MAX_BARS = 1000; // closed bars kept per symbol and interval (the REST read's limit)

export class ViewFeed {
  /** `bars`: the page's "symbol/interval" -> the service's closed bars (oldest first). */
  constructor(bars) {
    this.bars = bars;
    this.ws = null;
    this.wanted = null; // the higher interval asked for on this connection, or null (1m)
    this.streamed = new Set(); // the intervals the service said it sends this connection
    this.open = {}; // "symbol/interval" -> the service's bar in progress
  }

  /** A new connection (it starts with 1m candles only): ask for `view` on it. */
  attach(ws, view) {
    this.ws = ws;
    this.wanted = null;
    this.streamed = new Set();
    this.open = {};
    this.follow(view);
  }

  /** The selected interval changed: subscribe to it, unsubscribe the previous one. */
  follow(view) {
    const next = view === "1m" ? null : view;
    if (next === this.wanted) return;
    const old = this.wanted;
    this.wanted = next;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return; // asked again on open
    if (old) this.send("unsubscribe", old);
    if (next) this.send("subscribe", next);
  }

  send(op, interval) {
    this.ws.send(JSON.stringify({ op, intervals: [interval] }));
  }

  /** The connection's subscription, from the snapshot or the reply to an op. */
  subscribed(subscription) {
    if (Array.isArray(subscription?.intervals)) this.streamed = new Set(subscription.intervals);
  }

  /** Whether closed bars of `view` arrive on /ws (else the page re-reads them from REST). */
  streams(view) {
    return view !== "1m" && this.streamed.has(view);
  }

  /**
   * A `candle` (closed) or `candle_update` of a higher interval: kept. True when it changed
   * what the chart shows of that symbol and interval.
   */
  event(d, closed) {
    const bar = L.normCandle(d);
    const key = `${d.symbol}/${d.interval}`;
    if (!closed) {
      this.open[key] = bar;
      return true;
    }
    if (this.open[key]?.time <= bar.time) delete this.open[key];
    const list = Array.isArray(this.bars[key]) ? this.bars[key] : (this.bars[key] = []);
    return L.upsertBar(list, bar, MAX_BARS);
  }

  /**
   * The service's bar in progress of `symbol`/`view`, when it is newer than the last closed
   * bar shown and (with an open 1m candle) the bar that candle belongs to; else null.
   */
  openBar(symbol, view, lastTime, openMinute) {
    const bar = this.open[`${symbol}/${view}`];
    if (!bar || (lastTime !== undefined && bar.time <= lastTime)) return null;
    if (openMinute) {
      const span = L.VIEW_MINUTES[view] * 60_000;
      if (bar.time !== Math.floor(openMinute.time / span) * span) return null;
    }
    return bar;
  }
}
