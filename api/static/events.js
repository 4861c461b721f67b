// What each /ws message changes: the store through its reducers, then the parts of the page
// that show it (marked dirty, redrawn on the next frame). The connection itself is live.js's.
import * as L from "./logic.js";
import { detailText } from "./transport.js";

/**
 * `ctx`: state (the page's and the store's data), store, chart, markDirty(...parts),
 * loadViewBars(symbol, view), queueResults(), toast(text, kind), noticeToast(data),
 * everConnected().
 * `state.ab` and `state.logs` are read when a message comes (they start after the first load).
 */
export function createEvents(ctx) {
  const { state, store, chart, markDirty, loadViewBars, queueResults, toast, noticeToast } = ctx;

  function handle(msg) {
    const d = msg.data;
    switch (msg.type) {
      case "snapshot":
        applySnapshot(d);
        break;
      case "candle": {
        if (d.interval && d.interval !== "1m") { viewEvent(d, true); break; }
        const sym = d.symbol;
        if (store.closed(d)) {
          const c = L.normCandle(d);
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
        if (!store.live(d)) break;
        if (d.symbol === state.selected) chart.live();
        markDirty("kpi", "positions", "variants");
        break;
      }
      case "tick":
        if (store.tick(d)) markDirty("kpi", "positions");
        break;
      case "signal":
        store.signal(d);
        markDirty("signals", "variants");
        break;
      case "trade":
        store.trade(d);
        queueResults();
        markDirty("trades", "chart-markers", "kpi");
        break;
      case "notice":
        noticeToast(d);
        break;
      case "position":
        store.position(d);
        markDirty("positions", "variants", "kpi");
        break;
      case "status":
        if (d?.subscription) state.viewFeed.subscribed(d.subscription);
        store.status(d);
        markDirty("kpi");
        state.ab?.status();
        break;
      case "performance":
        store.performance(d);
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
    if (ctx.everConnected() && state.symbols.length === 0) return; // REST load still running
    store.snapshot(d);
    if (d.performance) state.ab?.performance(d.performance);
    state.logs?.snapshot(d.logs);
    markDirty("all");
  }

  return { handle };
}
