"""`main.py optimize --html FILE`: one self-contained page.

A heatmap of the first two searched parameters (each cell the best score over the others),
the best trials, the Pareto front (nsga2), the walk-forward table, and the equity of the best
setting against the live variants' settings on the same candles, interactive in the dashboard's
chart library (backtest/chart_page.py). Figures are rounded for people; tables scroll sideways
on a phone, charts scale to the width.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from backtest.chart_page import CSS, Line, chart, line_style, scripts
from backtest.fill_model import FillModel
from optimize.scoring import WORST, score

TOP = 15
STYLE = ".heat td{border:1px solid #fff;text-align:center;min-width:3.2em}"


def _e(value: object) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    number = float(value)
    return f"{number:,.{digits}f}" if math.isfinite(number) else "n/a"


def _day(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _setting(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items())


def _trials_table(trials: Sequence[dict[str, Any]], doc: dict[str, Any]) -> str:
    head = ("#", "setting", "score", "return %", "max DD %", "trades", "win rate", "Sharpe",
            "Sortino", "Calmar", "profit factor", "fees")  # fmt: skip
    rows = []
    for t in trials:
        m = t["metrics"]
        s = score(m, doc["objective"], doc["min_trades"])
        cells = (
            t["number"], _setting(t["params"]), "-" if s == WORST else _num(s),
            _num(m["return_pct"]), _num(m["max_drawdown_pct"]), m["trades"],
            f"{m['win_rate']:.0%}", _num(m["sharpe"], 1), _num(m["sortino"], 1),
            _num(m["calmar"], 1), _num(m["profit_factor"]), _num(m["fees"]),
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
    return f'<div class="scroll"><table>{header}{"".join(rows)}</table></div>'


def _heatmap(doc: dict[str, Any]) -> str:
    names = list(doc["space"])
    if len(names) < 2:
        return '<p class="note">One parameter searched: no heatmap.</p>'
    rows_name, cols_name = names[0], names[1]
    best: dict[tuple[str, str], float] = {}
    for t in doc["trials"]:
        key = (str(t["params"][rows_name]), str(t["params"][cols_name]))
        s = score(t["metrics"], doc["objective"], doc["min_trades"])
        best[key] = max(best.get(key, WORST), s)
    finite = [v for v in best.values() if v > WORST]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    cols = doc["space"][cols_name]
    out = [f"<tr><th>{_e(rows_name)} \\ {_e(cols_name)}</th>"]
    out += [f"<th>{_e(c)}</th>" for c in cols]
    out.append("</tr>")
    for r in doc["space"][rows_name]:
        out.append(f"<tr><th>{_e(r)}</th>")
        for c in cols:
            value = best.get((str(r), str(c)))
            if value is None or value == WORST:
                out.append('<td style="background:#eee">–</td>')
                continue
            share = 0.5 if high == low else (value - low) / (high - low)
            color = f"hsl({int(share * 120)},65%,{80 - 15 * abs(share - 0.5):.0f}%)"
            out.append(f'<td style="background:{color}">{_num(value)}</td>')
        out.append("</tr>")
    note = (
        f'<p class="note">Each cell: the best {_e(doc["objective"])} over the other parameters'
        "; grey: refused by the strategy or unable to win.</p>"
    )
    return f'<div class="scroll"><table class="heat">{"".join(out)}</table></div>{note}'


def _walk_forward(doc: dict[str, Any]) -> str:
    wf = doc.get("walk_forward")
    if not wf:
        return ""
    head = ("window", "in-sample", "out-of-sample", "trials", "winner", "IS return %",
            "OOS return %", "WFE", "deflated Sharpe")  # fmt: skip
    rows = []
    for n, w in enumerate(wf["windows"]):
        ins, oos = w["in_sample_metrics"], w["out_of_sample_metrics"]
        cells = (
            n, f"{_day(w['in_sample'][0])} – {_day(w['in_sample'][1])}",
            f"{_day(w['out_of_sample'][0])} – {_day(w['out_of_sample'][1])}", w["trials"],
            "-" if w["params"] is None else _setting(w["params"]),
            "-" if ins is None else _num(ins["return_pct"]),
            "-" if oos is None else _num(oos["return_pct"]), _num(w["wfe"]),
            _num(w["deflated_sharpe"]),
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
    return (
        f"<h2>Walk-forward</h2><div class='scroll'><table>{header}{''.join(rows)}</table></div>"
        f"<p class='note'>Overall walk-forward efficiency: {_num(wf['wfe'])}</p>"
    )


def _equity(curves: Sequence[tuple[str, Sequence[int], Sequence[float]]], capital: float) -> str:
    drawn = [(label, times, values) for label, times, values in curves if values]
    if not drawn:
        return ""
    lines = []
    for n, (label, times, values) in enumerate(drawn):
        color, dashed, width = line_style(n)  # the best solid and wide, the others dashed
        pct = [(v / capital - 1) * 100 for v in values]
        lines.append(Line(f"{label} ({pct[-1]:+.2f} %)", list(zip(times, pct, strict=True)),
                          color, dashed, width))  # fmt: skip
    return "<h2>Equity, % of capital</h2>" + chart("equity", lines, percent=True)


def render(
    doc: dict[str, Any],
    curves: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    capital: float,
) -> str:
    """The page for the optimisation `doc` (optimize.report.document) and equity `curves`
    (label, close times, equity at those closes), the best setting's first."""
    objective = doc["objective"]
    ranked = sorted(
        (t for t in doc["trials"]),
        key=lambda t: (-score(t["metrics"], objective, doc["min_trades"]), t["number"]),
    )
    best = doc["best"]
    title = f"Optimisation: {doc['strategy']} on {doc['symbol']}"
    fill = doc["fill"]
    intro = (
        f"<p>{len(doc['trials'])} trials ({_e(doc['sampler'])}, objective {_e(objective)}), "
        f"{doc['skipped']} settings refused by the strategy; {doc['candles']:,} candles "
        f"{_day(doc['start_ms'])} – {_day(doc['end_ms'])} UTC; "
        f"{_e(FillModel.from_json(fill).describe())}.</p>"
    )
    if best is not None:
        intro += (
            f"<p><b>Best:</b> trial {best['number']}, {_e(_setting(best['params']))}: return "
            f"{_num(best['metrics']['return_pct'])} %, max drawdown "
            f"{_num(best['metrics']['max_drawdown_pct'])} %, deflated Sharpe ratio "
            f"{_num(best.get('deflated_sharpe'))}.</p>"
        )
    pareto = ""
    if doc.get("pareto"):
        pareto = "<h2>Pareto front (objective up, drawdown down)</h2>" + _trials_table(
            doc["pareto"], doc
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}{CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1>{intro}"
        f"{_equity(curves, capital)}"
        f"<h2>Heatmap</h2>{_heatmap(doc)}"
        f"<h2>Best {min(TOP, len(ranked))} trials</h2>{_trials_table(ranked[:TOP], doc)}"
        f"{pareto}{_walk_forward(doc)}{scripts() if curves else ''}</body></html>\n"
    )
