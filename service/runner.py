"""Placeholder until its owner lands it."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register this command's options."""


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
