"""Interactive charts for the HTML reports, in the dashboard's chart library.

A report is one file: the library is inlined from the copy `scripts/install.sh` puts beside the
dashboard (api/static/vendor/), or, where that copy is missing (no npm), loaded from the same CDN
the dashboard falls back to. Each chart is a `<div class="lwc">` with its data as JSON beside it;
one small script draws them all: zoom and pan with the mouse or a finger, a readout of every
line's value under the pointer, lines told apart by colour, width and dash.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIBRARY = (
    Path(__file__).resolve().parents[1]
    / "api" / "static" / "vendor" / "lightweight-charts.standalone.production.js"
)  # fmt: skip
CDN = "https://unpkg.com/lightweight-charts@5.2.1/dist/lightweight-charts.standalone.production.js"
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
MAX_MARKER_BARS = 300  # markers are grouped into at most this many time buckets per chart

# The reports' page: readable at 390 px, tables scroll sideways, figures in tabular digits.
PAGE_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1300px;padding:12px;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.4em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid #e3e3e3;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
.note{color:#666;font-size:.9em}
"""
CSS = (
    PAGE_CSS
    + """
.lwc-wrap{margin:6px 0 18px}.lwc{width:100%;height:var(--h,320px)}
.lwc-readout{font:12px/1.4 ui-monospace,monospace;min-height:1.4em;color:#333;
  white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.lwc-legend span{display:inline-block;margin-right:1em}
"""
)


@dataclass
class Line:
    """One line: (time ms, value) points, rising in time."""

    name: str
    points: Sequence[tuple[int, float]]
    color: str
    dashed: bool = False
    width: int = 2
    markers: list[dict[str, Any]] = field(default_factory=list)


def line_style(index: int) -> tuple[str, bool, int]:
    """Colour, dashed, width of the `index`-th line: the first solid and wide, the others
    thinner and dashed, so that lines that coincide (identical trades) still show both."""
    return COLORS[index % len(COLORS)], index > 0, 3 if index == 0 else 2


def trade_markers(
    events: Sequence[tuple[int, str, str]], span_ms: int, color: str
) -> list[dict[str, Any]]:
    """(time ms, "entry" | "exit" | "stop", label) events -> chart markers, one per kind and
    time bucket of `span_ms`, with the count when several share it ("A ×3")."""
    span = max(1, span_ms)
    groups: dict[tuple[int, str], list[str]] = {}
    for time_ms, kind, label in events:
        groups.setdefault((time_ms // span * span, kind), []).append(label)
    out: list[dict[str, Any]] = []
    for (bucket, kind), labels in sorted(groups.items()):
        count = f" ×{len(labels)}" if len(labels) > 1 else ""
        up = kind == "entry"
        out.append({
            "time": bucket // 1000,
            "position": "belowBar" if up else "aboveBar",
            "shape": "arrowUp" if up else "arrowDown",
            "color": "#000" if kind == "stop" else color,
            "text": f"{labels[0]}{count}",  # the arrow's shape says entry or exit
        })  # fmt: skip
    return out


def bucket_ms(first_ms: int, last_ms: int) -> int:
    """A marker bucket for the span: whole minutes, at most MAX_MARKER_BARS buckets."""
    minutes = max(1, -(-(last_ms - first_ms) // (60_000 * MAX_MARKER_BARS)))
    return minutes * 60_000


def chart(
    chart_id: str,
    lines: Sequence[Line],
    *,
    percent: bool = False,
    digits: int = 2,
    height: int = 320,
) -> str:
    """A chart's block: the drawing area, its readout and legend, its data."""
    data = {
        "percent": percent,
        "digits": digits,
        "lines": [
            {
                "name": line.name,
                "color": line.color,
                "dashed": line.dashed,
                "width": line.width,
                "points": _rising(line.points),
                "markers": line.markers,
            }
            for line in lines
        ],
    }
    legend = "".join(
        f'<span style="color:{line.color}">{"╌" if line.dashed else "━"} '
        f"{html.escape(line.name)}</span>"
        for line in lines
    )
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        f'<div class="lwc-wrap"><div class="lwc-legend">{legend}</div>'
        f'<div class="lwc" id="{html.escape(chart_id)}" style="--h:{height}px"></div>'
        f'<div class="lwc-readout" data-for="{html.escape(chart_id)}"></div>'
        f'<script type="application/json" data-chart="{html.escape(chart_id)}">{payload}'
        "</script></div>"
    )


def _rising(points: Sequence[tuple[int, float]]) -> list[list[float]]:
    """[seconds, value] rows, strictly rising in time (the last value of a second wins)."""
    rows: list[list[float]] = []
    for time_ms, value in points:
        second = time_ms // 1000
        if rows and rows[-1][0] >= second:
            if rows[-1][0] == second:
                rows[-1][1] = round(value, 6)
            continue
        rows.append([second, round(value, 6)])
    return rows


DRAW = """
(function () {
  function draw() {
    var LC = window.LightweightCharts;
    if (!LC) { document.querySelectorAll(".lwc").forEach(function (el) {
      el.textContent = "The chart library did not load (offline and not installed).";
      el.style.height = "auto"; }); return; }
    document.querySelectorAll("script[data-chart]").forEach(function (tag) {
      var data = JSON.parse(tag.textContent);
      var el = document.getElementById(tag.dataset.chart);
      var readout = document.querySelector('.lwc-readout[data-for="' + tag.dataset.chart + '"]');
      var digits = data.digits;
      var chart = LC.createChart(el, {
        autoSize: true,
        layout: { attributionLogo: false },
        timeScale: { timeVisible: true, secondsVisible: false },
        localization: { priceFormatter: function (v) {
          return v.toLocaleString("en-US", { minimumFractionDigits: digits,
            maximumFractionDigits: digits }) + (data.percent ? " %" : ""); } },
      });
      var series = data.lines.map(function (line) {
        var s = chart.addSeries(LC.LineSeries, { color: line.color, lineWidth: line.width,
          lineStyle: line.dashed ? 2 : 0, title: line.name, priceLineVisible: false,
          lastValueVisible: true });
        s.setData(line.points.map(function (p) { return { time: p[0], value: p[1] }; }));
        if (line.markers.length) LC.createSeriesMarkers(s, line.markers);
        return s;
      });
      chart.timeScale().fitContent();
      chart.subscribeCrosshairMove(function (param) {
        if (!param || param.time === undefined) { readout.textContent = ""; return; }
        var when = new Date(param.time * 1000).toISOString().slice(0, 16).replace("T", " ");
        var parts = [when + " UTC"];
        series.forEach(function (s, i) {
          var d = param.seriesData.get(s);
          if (d && d.value !== undefined) parts.push(data.lines[i].name + " " +
            d.value.toLocaleString("en-US", { minimumFractionDigits: digits,
              maximumFractionDigits: digits }) + (data.percent ? " %" : ""));
        });
        readout.textContent = parts.join("  ");
      });
      el.dataset.drawn = String(series.length);
    });
    document.body.dataset.charts = "drawn";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
"""


def scripts() -> str:
    """The library (inlined when installed) and the drawing script; put once, at the end."""
    if LIBRARY.exists():
        code = LIBRARY.read_text("utf-8").replace("</script", "<\\/script")
        library = f"<script>{code}</script>"
    else:
        library = f'<script src="{CDN}"></script>'
    return f"{library}<script>{DRAW}</script>"
