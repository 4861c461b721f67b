// The price chart: candles and volume of the selected symbol and view, the strategy's indicator
// lines from the server (GET /strategy/indicators), fill markers grouped per bar, and the hover
// readout. It computes no indicator and no money figure.
import * as L from "../logic.js";

const $ = (id) => document.getElementById(id);
const LINE_COLOURS = ["#fbbf24", "#a78bfa", "#34d399", "#f472b6", "#60a5fa", "#fb923c"];
export const candleRow = (b) => ({ time: b.time / 1000, open: b.open, high: b.high, low: b.low, close: b.close });
export const volumeRow = (b) => ({
  time: b.time / 1000, value: Number.isFinite(b.volume) ? b.volume : 0,
  color: b.close >= b.open ? "rgba(34,197,94,0.35)" : "rgba(239,68,68,0.35)",
});

/**
 * The chart. `ctx`: state (the page's selected symbol, view, candles, trades, variants,
 * colours, tz), api(path), esc(text), viewBars(symbol, view), removing(symbol) (being
 * removed: its lines are not read).
 */
export function createPriceChart({ state, api, esc, viewBars, removing }) {
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
      if (!sym || !this.api || removing(sym)) return;
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
  return chart;
}

const LOCAL_CHART = "/static/vendor/lightweight-charts.standalone.production.js";
const CDN_CHART =
  "https://unpkg.com/lightweight-charts@5.2.1/dist/lightweight-charts.standalone.production.js";

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(s);
  });
}

/** The chart library: the vendored copy (scripts/install.sh); a public CDN only when missing. */
export async function loadChartLibrary() {
  try { await loadScript(LOCAL_CHART); } catch { await loadScript(CDN_CHART); }
}
