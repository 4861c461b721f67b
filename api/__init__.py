"""HTTP and WebSocket surface of the service."""
