"""Ticks in, Binance-identical closed 1-minute candles out."""
