"""The soak's figures: per variant and symbol, the service's REST against the exchange's fills,
halted minutes without a visible state, RSS along the way. Returns whether every goal held."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bench.soak_truth import ZERO, JournalView, floor_step, recompute

if TYPE_CHECKING:
    from bench.soak import Run

DAY_MS = 86_400_000
TOLERANCE = Decimal("1e-8")


@dataclass
class Sample:
    """One poll: market time, the service's view (when it answered), both processes' RSS."""

    real_s: float
    generation: int  # which start of the service
    market_ms: int
    service_rss: float | None
    sim_rss: float | None
    answered: bool = False
    health_status: str = ""
    feeds_live: bool = False
    reasons: list[str] = field(default_factory=list)
    states: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # variant -> (state, why)


def visible(sample: Sample, variant: str) -> bool:
    state, why = sample.states.get(variant, (None, None))
    return state not in (None, "active") and bool(why)


def halted_minutes(samples: list[Sample], journal: JournalView) -> dict[str, tuple[float, float]]:
    """Per variant: (minutes it refused entries while polled, of which its state said nothing)."""
    windows = journal.refusal_windows()
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for a, b in itertools.pairwise(samples):
        if a.generation != b.generation or not (a.answered and b.answered):
            continue
        for variant, spans in windows.items():
            for start, end in spans:
                lo, hi = max(a.market_ms, start), min(b.market_ms, end)
                if hi > lo:
                    out[variant][0] += (hi - lo) / 60_000
                    # Silent only if the polls on both sides say nothing: a refusal (or the
                    # next entry) between two polls is seen by one of them, not both.
                    if not visible(a, variant) and not visible(b, variant):
                        out[variant][1] += (hi - lo) / 60_000
    return {v: (t[0], t[1]) for v, t in out.items()}


def _fmt(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f}"


def _dec(row: dict[str, Any], name: str) -> Decimal | None:
    value = row.get(name)
    return None if value is None else Decimal(str(value))


def _rss_line(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name}: no samples"
    tenth = max(1, len(values) // 10)
    first, last = statistics.median(values[:tenth]), statistics.median(values[-tenth:])
    return (
        f"  {name}: first tenth median {first:.0f} MB, last tenth median {last:.0f} MB,"
        f" max {max(values):.0f} MB ({len(values)} samples)"
    )


def report(run: Run, journal: JournalView, elapsed_s: float) -> bool:
    out: list[str] = []
    goals: list[tuple[str, bool]] = []
    samples = run.samples
    days = (samples[-1].market_ms - run.start_ms) / DAY_MS if samples else 0.0
    starts = sorted(run.starts)
    out.append(
        f"soak: {days:.2f} market days in {elapsed_s:.0f} s real (speed x{run.speed:.0f}),"
        f" {run.kills} SIGKILLs ({run.kills_in_flight} with an order in flight), {len(starts)}"
        f" starts (to /health: median {statistics.median(starts):.1f} s, max {starts[-1]:.1f} s)"
    )
    out.append("phases (real s): " + ", ".join(f"{k} {v:.0f}" for k, v in run.phases.items()))
    reset_day = (run.reset_ms - run.start_ms) / DAY_MS if run.reset_ms else None
    out.append(
        f"testnet reset: {run.reset_note}"
        + (f" at market day {reset_day:.2f}" if reset_day is not None else "")
    )
    st = run.sim_stats
    out.append(
        f"faults at the exchange: {st.get('injected_500', 0)} HTTP 500, {st.get('injected_429', 0)}"
        f" HTTP 429 (on order and time), {st.get('orders_hung', 0)} orders hung,"
        f" {st.get('error_-1021', 0)} answers -1021, {st.get('rest_requests', 0)} REST requests"
    )
    kinds = Counter(str(r.get("type")) for r in journal.records)
    open_left = journal.open_intents()
    out.append(
        "journal: "
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        + f"; unreadable lines {journal.unreadable}; open intents at the end {len(open_left)}"
        + (f" ({run.settle_note})" if run.settle_note else "")
    )
    goals.append(("every intent has an outcome at the end", not open_left))

    truth = recompute(run.snaps, journal)
    final = run.final
    rows = {(str(p["variant"]), str(p["symbol"])): p for p in final.get("positions", [])}
    steps: dict[str, Decimal] = final.get("steps", {})
    keys = sorted(set(rows) | set(truth.whole) | set(truth.orders))
    out.append("")
    out.append(
        "variant symbol   orders unjournaled-fills fill-mismatch dup-ids dup-intents buy-after-buy"
    )
    for key in keys:
        book = truth.whole.get(key)
        out.append(
            f"{key[0]:<7} {key[1]:<8} {truth.orders[key]:>6} {truth.unjournaled_fills[key]:>17}"
            f" {truth.fill_mismatch[key]:>13} {truth.duplicate_ids[key]:>7}"
            f" {truth.duplicate_intents[key]:>11} {book.buy_after_buy if book else 0:>13}"
        )
    unjournaled = sum(truth.unjournaled_fills.values())
    dups = sum(truth.duplicate_ids.values()) + sum(truth.duplicate_intents.values())
    goals.append(("0 exchange fills the journal does not record as fills", unjournaled == 0))
    goals.append(
        (
            "0 fills recorded with other quantities than the exchange's",
            not sum(truth.fill_mismatch.values()),
        )
    )
    goals.append(("0 duplicate exchange orders", dups == 0))

    out.append("")
    out.append(
        "variant symbol   held: service / exchange (since reset)   sellable qty: service / exchange"
    )
    pos_ok = pnl_ok = True
    pnl_lines: list[str] = []
    for key in keys:
        if key[0] == "?":
            continue
        row = rows.get(key, {})
        since = truth.since_reset.get(key)
        whole = truth.whole.get(key)
        ex_held = since.held if since else ZERO
        qty = _dec(row, "qty")
        held = _dec(row, "held_qty")
        if held is None and qty is not None:
            held = qty + (_dec(row, "dust") or ZERO)
        step = steps.get(key[1], Decimal("0.00000001"))
        ex_qty = floor_step(ex_held, step)
        same = held == ex_held and qty == ex_qty
        pos_ok &= same
        out.append(
            f"{key[0]:<7} {key[1]:<8} {_fmt(held):>14} / {_fmt(ex_held):<16}"
            f" {_fmt(qty):>14} / {_fmt(ex_qty):<14} {'ok' if same else 'DIFFERENT'}"
        )
        # The service marks money at the newest fill or closed candle (execution.accounts).
        last = _dec(row, "mark_price") or _dec(row, "last_price")
        realized, unrealized = _dec(row, "realized_pnl"), _dec(row, "unrealized_pnl")
        if last is None or realized is None:
            pnl_ok = False
            pnl_lines.append(f"{key[0]:<7} {key[1]:<8} no mark price or P&L in GET /positions")
            continue
        service_pnl = realized + (unrealized or ZERO)
        mtm = since.mtm(last) if since else ZERO
        mtm_whole = whole.mtm(last, held=ex_held) if whole else ZERO
        diff = service_pnl - mtm
        close = abs(diff) <= TOLERANCE
        pnl_ok &= close
        other = sum(whole.other_fees.values()) if whole else 0
        pnl_lines.append(
            f"{key[0]:<7} {key[1]:<8} {service_pnl:>16.8f} {mtm:>16.8f} {diff:>+14.8f}"
            f" {mtm_whole:>16.8f}  last {_fmt(last)}"
            + (f" ({other} fees in a third asset)" if other else "")
            + ("" if close else "  DIFFERENT")
        )
    out.append("")
    out.append(
        "variant symbol   realized+unrealized   mtm of the exchange's fills   diff"
        "   (whole run, held at the reset written off)"
    )
    out.extend(pnl_lines)
    goals.append(("position equals the holding derived from the exchange", pos_ok))
    goals.append(("realized + unrealized equals the exchange's mark-to-market (1e-8)", pnl_ok))

    out.append("")
    halted = halted_minutes(samples, journal)
    silent_total = 0.0
    for variant in sorted({v for s in samples for v in s.states} | set(halted)):
        total, silent = halted.get(variant, (0.0, 0.0))
        silent_total += silent
        out.append(
            f"variant {variant}: refused entries during {total:.0f} polled market minutes,"
            f" {silent:.0f} of them without a visible state (state != active with a reason)"
        )
    refused = sum(len(spans) for spans in journal.refusal_windows().values())
    out.append(
        f"refusal spans (from a BUY refused before sending to the last one refused before the"
        f" next BUY sent): {refused}"
    )
    answered = [s for s in samples if s.answered]
    degraded = sum(1 for s in answered if s.health_status != "ok")
    why = Counter(r.split(":")[0][:60] for s in answered for r in s.reasons)
    out.append(
        f"polls: {len(samples)} ({len(answered)} answered by the service,"
        f" {degraded} with /health not ok; reasons: "
        + ("; ".join(f"{r} x{n}" for r, n in why.most_common(4)) or "none")
        + ")"
    )
    goals.append(("0 halted minutes without a visible state", silent_total < 1e-9))

    out.append(
        f"service log: {run.log_counts.get('late', 0)} late trades (a minute closed before its"
        f" trade arrived), {run.log_counts.get('error', 0)} ERROR lines,"
        f" {run.log_counts.get('traceback', 0)} tracebacks"
    )
    out.append("")
    out.append("RSS:")
    out.append(_rss_line("simulator", [s.sim_rss for s in samples if s.sim_rss is not None]))
    out.append(
        _rss_line(
            "service (all starts)", [s.service_rss for s in samples if s.service_rss is not None]
        )
    )
    last_gen = samples[-1].generation if samples else 0
    out.append(
        _rss_line(
            "service (the last start)",
            [s.service_rss for s in samples if s.generation == last_gen and s.service_rss],
        )
    )

    out.append("")
    for name, ok in goals:
        out.append(f"{'PASS' if ok else 'FAIL'}  {name}")
    goals_ok = all(ok for _, ok in goals)
    out.append("verdict: " + ("every goal held" if goals_ok else "some goals FAILED"))
    print("\n".join(out))
    return goals_ok
