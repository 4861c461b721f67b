"""Recordings of what the live pipeline consumed: the writer (`Recorder`) and the format reader."""
