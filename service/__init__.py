"""The live service: its components started and stopped together, and the facade the API reads."""
