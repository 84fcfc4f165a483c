"""One row per REST route: what the face registers and what ``/openapi.json`` documents.

The face binds each :class:`Op` (its handler, wrapped to authenticate, rate limit, parse the
body with :attr:`Op.body` and map errors) and the document is generated from the same rows,
so a route, its body model and its replies are declared once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from ..ratelimit import RateClass

TIME: dict[str, Any] = {"type": "string", "format": "date-time", "description": "ISO 8601 with a timezone"}
PAGE: dict[str, Any] = {"type": "integer", "default": 1, "minimum": 1}
LIMIT: dict[str, Any] = {"type": "integer", "default": 20, "minimum": 1, "maximum": 100}


@dataclass(frozen=True)
class Query:
    """A query parameter (the face reads it itself, with the bounds given here)."""

    name: str
    schema: Any  # a JSON Schema, or a type whose pydantic JSON Schema it is
    required: bool = False


@dataclass(frozen=True)
class Op:
    """A REST route.

    ``handler`` takes the request, and the parsed body when ``body`` is set; ``reply`` is the
    type of the 200 reply; ``errors`` the error statuses besides 429 (every route is rate
    limited); ``private``: the private wallet API's key header and error shape.
    """

    method: Literal["GET", "POST"]
    path: str
    handler: Callable[..., Awaitable[Any]]
    reply: Any
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None
    query: tuple[Query, ...] = ()
    description: str | None = None
    private: bool = False
    limit: RateClass | None = None  # default: GET is "individual", any other method "write"
    # checks of the path parameters that come before the body is read (its errors first)
    path_check: Callable[[Any], object] | None = None
