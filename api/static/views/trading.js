// The page's trading controls: the manual order form, a position's Close button, and following
// or dropping a symbol. Each sends one request and shows the service's answer; the fills
// themselves arrive live (/ws), as toasts and in the tables.
import * as L from "../logic.js";
import { api } from "../transport.js";

const $ = (id) => document.getElementById(id);


/**
 * Wires the controls. `ctx`: state (symbols, variants, positions, trades, candles, open),
 * toast, asking(variant, symbol, side), rejectKey, markDirty(...parts),
 * selectSymbol(symbol), loadSnapshot(), maxRows, live() (the /ws connection is open).
 */
export function createTradingControls(ctx) {
  const { state, store, toast, asking, rejectKey, markDirty, selectSymbol, loadSnapshot } = ctx;
  const MAX_ROWS = ctx.maxRows;
  const removing = new Set(); // symbols being removed (DELETE /symbols/… under way)

  $("positions-table").addEventListener("click", async (e) => {
    const btn = e.target.closest("button.close-btn");
    if (!btn) return;
    const { variant, symbol } = btn.dataset;
    btn.disabled = true;
    asking(variant, symbol, "SELL");
    try {
      const out = await api(`/positions/${encodeURIComponent(variant)}/${encodeURIComponent(symbol)}/close`,
        { method: "POST" });
      if (!ctx.live()) toast(`Close ${variant} ${symbol}: ${out?.status ?? "sent"}`, "fill");
      store.positionsRead(await api("/positions"));
      store.tradesRead(await api(`/trades?limit=${MAX_ROWS}`));
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
        out.executed_qty} ${order.symbol} @ ${L.fmt(out.avg_price, L.priceDigits(L.num(out.avg_price)))}`;
    } catch (err) {
      $("order-error").textContent = err.message;
      // The service also announces the refusal on /ws: the shared key makes it one toast.
      toast(`Order rejected: ${err.message}`, "reject",
        rejectKey(order.variant, order.symbol, order.side));
    } finally {
      $("order-submit").disabled = false;
    }
  });

  $("symbol-form").addEventListener("submit", (e) => { e.preventDefault(); addSymbol(); });

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
    removing.add(sym); // nothing more is asked about it meanwhile (it would be a 404)
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
      removing.delete(sym);
    }
  }

  return { addSymbol, removeSymbol, isRemoving: (sym) => removing.has(sym) };
}
