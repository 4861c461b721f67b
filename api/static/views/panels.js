// The page's cards and tables that follow the live state: key figures, variant cards, open
// positions, trades and signals. Each shows the server's figures as sent (the page adds up
// nothing); rows update cell by cell where a click could land on them.
import * as L from "../logic.js";
import { labelCells } from "./dom.js";

const $ = (id) => document.getElementById(id);

/**
 * The renderers. `ctx`: state (symbols, selected, candles, open, prices, performance, positions,
 * trades, signals, variants, colours, health, tz), esc(text), maxRows, positionKey(p),
 * positionQty(p).
 */
export function createPanels({ state, esc, maxRows, positionKey, positionQty, live }) {
  const MAX_ROWS = maxRows;
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
  
    const feed = L.feedStatus(live(), state.health, now);
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
        const stop = long ? L.num(pos.stop_price) : NaN; // the server's: resting stop or its level
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
      const stop = L.num(p.stop_price); // the server's: the resting stop or the level it checks
      const pnl = L.num(p.unrealized_pnl);  // the server's, at its mark price
      const dg = L.priceDigits(entry);
      const cells = tr.cells;
      setCell(cells[2], String(p.qty));
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
      const fee = L.num(t.commission);
      return `<tr><td>${timeText(L.tradeTime(t))}</td><td>${vtag(t.variant)}</td><td>${esc(t.symbol)}</td>
        <td><span class="pill ${esc(t.side)}">${esc(t.side)}</span></td>
        <td class="num">${esc(t.executed_qty)}</td><td class="num">${L.fmt(price, dg)}</td>
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

  return {
    kpis: renderKpis,
    variants: renderVariants,
    positions: renderPositions,
    trades: renderTrades,
    signals: renderSignals,
  };
}
