"""Pieces every layer may use: the injected clock, the event hub, task ownership, errors."""
