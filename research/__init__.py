"""Backtests and optimisations started from the dashboard: on the ledger's stored candles, run
as `main.py backtest` / `main.py optimize` child processes (the same commands a person runs),
watched and stopped by the service."""
