"""Why a request to change the service was refused; the API maps each to its HTTP status."""

from __future__ import annotations

from core.errors import BadInputError


class NotFoundError(BadInputError):
    """The thing asked for does not exist (HTTP 404)."""


class ConflictError(BadInputError):
    """The request conflicts with the current state (HTTP 409)."""
