"""The stream processing both the service and the backtest run: tick -> candle -> signal -> order.

Below `service` (the live wiring) and `backtest` (history), above the domain packages.
"""
