"""FastAPI dependencies: the service and its settings, read from `app.state` (never a global)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request

from api.schemas import MAX_CURSOR, MAX_MS
from config import Settings
from service.container import Service


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_symbols_lock(request: Request) -> asyncio.Lock:
    """Held while the symbol set changes: concurrent adds and removes run one after another."""
    lock: asyncio.Lock = request.app.state.symbols_lock
    return lock


ServiceDep = Annotated[Service, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SymbolsLockDep = Annotated[asyncio.Lock, Depends(get_symbols_lock)]

_SYMBOL = re.compile(r"[A-Z0-9]{1,20}")
_NAME = re.compile(r"[A-Za-z0-9]{1,8}")
SYMBOL_PATTERN = r"^[A-Za-z0-9]{1,20}$"
NAME_PATTERN = r"^[A-Za-z0-9]{1,8}$"
# Declared in the OpenAPI schema, so that what the schema allows is what the service takes.
SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")]
VariantPath = Annotated[str, Path(pattern=NAME_PATTERN, description="e.g. A")]
SymbolQuery = Annotated[
    str | None, Query(pattern=SYMBOL_PATTERN, description="only this symbol, e.g. BTCUSDT")
]
VariantQuery = Annotated[str | None, Query(pattern=NAME_PATTERN, description="only this variant")]


def normalise_symbol(symbol: str) -> str:
    """`symbol` in upper case; 422 unless 1-20 letters or digits (so it can be echoed)."""
    upper = symbol.strip().upper()
    if not _SYMBOL.fullmatch(upper):
        raise HTTPException(422, detail="a symbol is 1-20 letters or digits, e.g. BTCUSDT")
    return upper


def variant_name(variant: str) -> str:
    """`variant` unchanged; 422 unless 1-8 letters or digits (so it can be echoed)."""
    if not _NAME.fullmatch(variant):
        raise HTTPException(422, detail="a variant name is 1-8 letters or digits, e.g. A")
    return variant


# A history page (GET /trades, /signals, /trades/round-trips): its time window and cursor.
NEXT_CURSOR = "X-Next-Cursor"
SinceMs = Annotated[int | None, Query(ge=0, le=MAX_MS, description="time from, epoch ms")]
UntilMs = Annotated[int | None, Query(ge=0, le=MAX_MS, description="time before, epoch ms")]
Cursor = Annotated[
    int | None,
    Query(ge=1, le=MAX_CURSOR, description=f"the {NEXT_CURSOR} header of the newer page"),
]
