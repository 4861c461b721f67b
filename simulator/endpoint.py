"""One REST route: method, path, request weight, handler, and whether it is signed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from simulator.params import Params

# A handler gets the parsed parameters and the caller's API key (None when unsigned) and
# returns the JSON body; it raises errors.ApiError to reject.
Handler = Callable[[Params, "str | None"], Awaitable[object]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    weight: int
    handler: Handler
    signed: bool = False
    order: bool = False  # an order request: subject to the "orders" REST faults
    # The weight when it depends on the query (depth's limit, a ticker's symbols), else `weight`.
    weigher: Callable[[Mapping[str, str]], int] | None = None

    def cost(self, query: Mapping[str, str]) -> int:
        """The request weight of one call with this query string."""
        return self.weight if self.weigher is None else self.weigher(query)
