"""Backtests and replays through the live classes, with reports."""
