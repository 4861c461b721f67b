"""The 32-setting EMA/SMA + stop-loss sweep in backtesting.py (`Backtest.optimize`), whole
process: run by bench/optimize.py with a peer interpreter that has backtesting installed.

    PEER_PYTHON klines.json  ->  prints the best setting and the number of settings run
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def ema(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).ewm(span=n, adjust=False).mean()


def sma(values: pd.Series, n: int) -> pd.Series:
    return pd.Series(values).rolling(n).mean()


class EmaSma(Strategy):  # type: ignore[misc]  # backtesting.py is not installed here
    ema_period = 5
    sma_period = 10
    stop_loss = 0.10

    def init(self) -> None:
        self.ema = self.I(ema, self.data.Close, self.ema_period)
        self.sma = self.I(sma, self.data.Close, self.sma_period)

    def next(self) -> None:
        if crossover(self.ema, self.sma) and not self.position:
            self.buy(size=0.99, sl=self.data.Close[-1] * (1 - self.stop_loss))
        elif crossover(self.sma, self.ema) and self.position:
            self.position.close()


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        rows = json.load(file)
    frame = pd.DataFrame(
        [[float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5])] for r in rows],
        columns=["Open", "High", "Low", "Close", "Volume"],
        index=pd.to_datetime([r[0] for r in rows], unit="ms"),
    )
    test = Backtest(frame, EmaSma, cash=1_000_000, commission=0.001, finalize_trades=True)
    stats, heat = test.optimize(
        ema_period=[3, 5, 8, 12],
        sma_period=[10, 20, 30, 40],
        stop_loss=[0.10, 0.15],
        constraint=lambda p: p.ema_period < p.sma_period,
        maximize="Return [%]",
        return_heatmap=True,
    )
    sys.stdout.write(f"settings {len(heat)} best {stats._strategy}\n")


if __name__ == "__main__":
    main()
