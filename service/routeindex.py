"""Every route the app serves, with the function right it declares (for the permission matrix)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

# Routes anyone may call: signing in cannot require being signed in, and the API's manual
# (/docs, rendering the public /openapi.json) is what a program's author reads first.
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/docs"),
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/auth/password"),
        ("GET", "/login"),
        ("POST", "/login"),
    }
)


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    permission: str | None
    endpoint: Any


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _routes(list(nested.routes))
        elif isinstance(route, APIRoute):
            yield route


def _permission(dependant: Any) -> str | None:
    for dep in dependant.dependencies:
        found = getattr(dep.call, "permission", None) or _permission(dep)
        if found:
            return str(found)
    return None


def api_routes(app: FastAPI) -> list[RouteInfo]:
    out = []
    for route in _routes(list(app.routes)):
        for method in sorted(route.methods or ()):
            out.append(RouteInfo(method, route.path, _permission(route.dependant), route.endpoint))
    return out
