"""FastAPI dependencies: the service and its settings, read from `app.state` (never a global)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from config import Settings
from service.container import Service


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def normalise_symbol(symbol: str) -> str:
    return symbol.strip().upper()
