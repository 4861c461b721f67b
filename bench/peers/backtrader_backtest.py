"""The EMA(5)/SMA(10) crossover with a 15 % and a 10 % stop-loss (variants A and B) in
backtrader, over a klines file, whole process: run by bench/backtest_peers.py with a peer
interpreter that has backtrader installed.

    PEER_PYTHON klines.json  ->  prints each variant's trades and final value
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import backtrader as bt


class EmaSma(bt.Strategy):  # type: ignore[misc]  # backtrader is not installed here
    params = (("stop_loss", 0.15),)

    def __init__(self) -> None:
        self.ema = bt.indicators.EMA(self.data.close, period=5)
        self.sma = bt.indicators.SMA(self.data.close, period=10)
        self.cross = bt.indicators.CrossOver(self.ema, self.sma)
        self.entry = 0.0
        self.trades = 0

    def next(self) -> None:
        if not self.position:
            if self.cross > 0:
                self.buy(size=0.001)
                self.entry = self.data.close[0]
        elif self.data.low[0] <= self.entry * (1 - self.p.stop_loss) or self.cross < 0:
            self.close()
            self.trades += 1


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        rows = json.load(file)
    for name, stop in (("A", 0.15), ("B", 0.10)):
        cerebro = bt.Cerebro(stdstats=False)
        feed = bt.feeds.PandasData(dataname=_frame(rows))
        cerebro.adddata(feed)
        cerebro.addstrategy(EmaSma, stop_loss=stop)
        cerebro.broker.setcash(1000.0)
        cerebro.broker.setcommission(commission=0.001)
        (strategy,) = cerebro.run()
        sys.stdout.write(
            f"{name}: {strategy.trades} trades, value {cerebro.broker.getvalue():.2f}\n"
        )


def _frame(rows: list[list[object]]) -> object:
    import pandas as pd

    return pd.DataFrame(
        {"open": [float(r[1]) for r in rows], "high": [float(r[2]) for r in rows],  # type: ignore[arg-type]
         "low": [float(r[3]) for r in rows], "close": [float(r[4]) for r in rows],  # type: ignore[arg-type]
         "volume": [float(r[5]) for r in rows]},  # type: ignore[arg-type]
        index=[datetime.fromtimestamp(int(r[0]) / 1000, UTC) for r in rows],  # type: ignore[call-overload]
    )  # fmt: skip


if __name__ == "__main__":
    main()
