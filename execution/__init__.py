"""Signals in, orders out: risk checks, brokers (paper, testnet), the journal, positions."""
