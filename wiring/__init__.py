"""The composition root: builds every component from Settings and serves the API in one loop."""
