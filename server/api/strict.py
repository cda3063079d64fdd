"""Strict JSON bodies: no NaN or Infinity, no integers beyond 64 bits.

Python's `json` accepts `NaN`, `Infinity` and integers of any size, none of which are
JSON; stored, they break PostgreSQL's JSON type or Keras. Every `/v1` router uses
`StrictJSONRoute`, whose requests parse their bodies with `strict_loads`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response

from horn.server.api.routing import ReleasingRoute

MAX_INT = 2**63 - 1


def _constant(name: str) -> Any:
    raise HTTPException(400, detail=f"Expected finite numbers in the JSON body. Received: "
                        f"{name}. JSON has no NaN or Infinity; send finite values.")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(int(text)) > MAX_INT:
        raise HTTPException(400, detail="Expected integers within 64 bits in the JSON body. "
                            f"Received: {text[:30]}{'...' if len(text) > 30 else ''}")
    return int(text)


def strict_loads(data: bytes | str) -> Any:
    """`json.loads` that refuses NaN, Infinity and integers beyond 64 bits (HTTP 400)."""
    return json.loads(data, parse_constant=_constant, parse_int=_integer)


class StrictJSONRequest(Request):
    """A request whose `json()` is `strict_loads`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJSONRoute(ReleasingRoute):
    """A route whose JSON body is parsed strictly (and whose sessions close when it
    returns)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
