"""Closed candles and ticks in, signals out: indicators, the crossover rule, variants, stops."""
