"""Wiring: builds every component from Settings and runs them with the API in one loop."""
