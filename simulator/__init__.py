"""A local stand-in for the Binance Spot Testnet (REST + market streams on one port).

It imports nothing from the service's packages: it is an independent reference.
"""

from simulator.config import KNOWN_SYMBOLS, FaultConfig, SimulatorConfig
from simulator.orders import RestoredOrder
from simulator.server import Simulator

__all__ = ["KNOWN_SYMBOLS", "FaultConfig", "RestoredOrder", "Simulator", "SimulatorConfig"]
