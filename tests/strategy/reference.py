"""Independent pandas computations of the library's indicators and signal rules (test oracle).

Written from the textbook definitions with pandas only: nothing here imports the project.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Signal = tuple[int, str, str]  # (candle index, side, strength)


def rsi(closes: pd.Series, period: int) -> pd.Series:
    """Wilder's RSI: averages seeded with the plain mean of the first `period` changes."""
    delta = closes.diff()
    gain, loss = delta.clip(lower=0.0), (-delta).clip(lower=0.0)

    def wilder(x: pd.Series) -> pd.Series:
        seeded = x.copy()
        seeded.iloc[period] = x.iloc[1 : period + 1].mean()
        out = seeded.iloc[period:].ewm(alpha=1.0 / period, adjust=False).mean()
        return out.reindex(x.index)

    g, lo = wilder(gain), wilder(loss)
    value = 100.0 - 100.0 / (1.0 + g / lo)
    value = value.where(lo != 0.0, np.where(g == 0.0, 50.0, 100.0))
    return value.where(g.notna())


def macd(closes: pd.Series, fast: int, slow: int, signal: int) -> pd.DataFrame:
    line = closes.ewm(span=fast, adjust=False).mean() - closes.ewm(span=slow, adjust=False).mean()
    sig = line.ewm(span=signal, adjust=False).mean()
    frame = pd.DataFrame({"line": line, "signal": sig, "hist": line - sig})
    frame.iloc[: slow + signal - 2] = np.nan  # not ready before slow + signal - 1 closes
    return frame


def bands(closes: pd.Series, period: int, k: float) -> pd.DataFrame:
    mid = closes.rolling(period).mean()
    sd = closes.rolling(period).std(ddof=0)
    return pd.DataFrame({"middle": mid, "upper": mid + k * sd, "lower": mid - k * sd})


def _signals(
    buy: pd.Series, sell: pd.Series, strong_buy: pd.Series, strong_sell: pd.Series
) -> list[Signal]:
    out: list[Signal] = []
    for i in range(len(buy)):
        if buy.iloc[i]:
            out.append((i, "BUY", "STRONG" if strong_buy.iloc[i] else "MODERATE"))
        elif sell.iloc[i]:
            out.append((i, "SELL", "STRONG" if strong_sell.iloc[i] else "MODERATE"))
    return out


def rsi_signals(closes: pd.Series, period: int, low: float, high: float) -> list[Signal]:
    r = rsi(closes, period)
    prev = r.shift(1)
    return _signals(
        (prev >= low) & (r < low), (prev <= high) & (r > high), r < low / 2, r > (100 + high) / 2
    )


def macd_signals(closes: pd.Series, fast: int, slow: int, signal: int) -> list[Signal]:
    m = macd(closes, fast, slow, signal)
    prev = m["hist"].shift(1)
    return _signals(
        (prev <= 0) & (m["hist"] > 0), (prev >= 0) & (m["hist"] < 0), m["line"] > 0, m["line"] < 0
    )


def bollinger_signals(closes: pd.Series, period: int, k: float) -> list[Signal]:
    b = bands(closes, period, k)
    margin = (b["upper"] - b["middle"]) / 4
    return _signals(
        (closes.shift(1) >= b["lower"].shift(1)) & (closes < b["lower"]),
        (closes.shift(1) <= b["upper"].shift(1)) & (closes > b["upper"]),
        closes <= b["lower"] - margin,
        closes >= b["upper"] + margin,
    )


def ema_sma_signals(closes: pd.Series, fast: int, slow: int) -> list[Signal]:
    ema = closes.ewm(span=fast, adjust=False).mean()
    sma = closes.rolling(slow).mean()
    pe, ps = ema.shift(1), sma.shift(1)
    return _signals(
        (pe <= ps) & (ema > sma),
        (pe >= ps) & (ema < sma),
        (closes > ema) & (closes > sma),
        (closes < ema) & (closes < sma),
    )


def resample(rows: list[list[object]], minutes: int) -> pd.DataFrame:
    """Binance 1m kline rows -> `minutes`-minute klines with pandas, only full intervals."""
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime([int(str(r[0])) for r in rows], unit="ms", utc=True),
            "open": [float(str(r[1])) for r in rows],
            "high": [float(str(r[2])) for r in rows],
            "low": [float(str(r[3])) for r in rows],
            "close": [float(str(r[4])) for r in rows],
            "n": 1,
        }
    ).set_index("time")
    agg = frame.resample(f"{minutes}min", origin="epoch", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "n": "sum"}
    )
    agg = agg[agg["n"] == minutes]
    epoch = pd.Timestamp(0, tz="UTC")
    agg["open_time"] = [(t - epoch) // pd.Timedelta(milliseconds=1) for t in agg.index]
    return agg.reset_index(drop=True)
