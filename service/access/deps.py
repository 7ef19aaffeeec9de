"""Request-time access: who is calling (bearer token) and whether their role may do this."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.access import policy, tokencache
from service.access import service as access_service
from service.access.actor import Actor
from service.db import SessionDep, utcnow
from service.errors import LedgerError


def _unauthenticated() -> LedgerError:
    return LedgerError(
        "auth.required",
        "请先登录",
        401,
        "需要有效的访问令牌（Authorization: Bearer …）",
        headers={"WWW-Authenticate": "Bearer"},
    )


# Declared as the OpenAPI security scheme, so clients (and schemathesis' ignored_auth check) know
# which operations need a token; it never raises itself, the 401 below is the problem document.
bearer = HTTPBearer(auto_error=False, description="访问令牌：Authorization: Bearer tl_…")


async def current_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Actor:
    """The API authenticates by bearer token only: a page's session cookie is ignored here.
    Async, and answered from `tokencache` when it can: most requests then need no query and no
    thread-pool hop to know who is asking."""
    if credentials is None:
        raise _unauthenticated()
    token_hash = access_service.sha256(credentials.credentials.strip())
    now = utcnow()

    def look_up() -> tuple[Actor, datetime] | None:
        found = access_service.user_for_token(session, token_hash, now)
        return (access_service.actor_of(found[0]), found[1]) if found else None

    actor = await _token_cache(request).answer(token_hash, now, look_up)
    if actor is None:
        raise _unauthenticated()
    request.state.actor = actor
    return actor


def _token_cache(request: Request) -> tokencache.TokenCache[Actor]:
    cache: tokencache.TokenCache[Actor] = request.app.state.token_cache  # made by create_app
    return cache


def require(permission: str) -> Callable[..., Actor]:
    """A dependency that authenticates and checks one function right."""

    async def dependency(
        request: Request, session: SessionDep, actor: Annotated[Actor, Depends(current_actor)]
    ) -> Actor:
        # Async: an allowed request (nearly all) costs no thread-pool hop here.
        if not policy.allowed(actor.role, permission):

            def deny() -> None:
                access_service.record_denial(
                    session,
                    actor,
                    permission=permission,
                    method=request.method,
                    path=request.url.path,
                )
                # Committed here, at the edge: the request fails, but its denial stays on record.
                session.commit()

            await run_in_threadpool(deny)
            raise LedgerError("access.forbidden", "无权执行此操作", 403, "您的角色没有此项权限")
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


ActorDep = Annotated[Actor, Depends(current_actor)]


def Allowed(permission: str) -> object:
    return Depends(require(permission))


# One alias per function right, so route signatures read as what they allow.
CanReadEnterprises = Annotated[Actor, Depends(require("enterprise.read"))]
CanCreateEnterprise = Annotated[Actor, Depends(require("enterprise.create"))]
CanUpdateEnterprise = Annotated[Actor, Depends(require("enterprise.update"))]
CanChangeStatus = Annotated[Actor, Depends(require("enterprise.status"))]
CanWriteFigures = Annotated[Actor, Depends(require("figures.write"))]
CanWriteDesignations = Annotated[Actor, Depends(require("designation.write"))]
CanWriteEvaluatorFacts = Annotated[Actor, Depends(require("ladder.facts"))]
CanWriteListing = Annotated[Actor, Depends(require("listing.write"))]
CanSelectKey = Annotated[Actor, Depends(require("key.select"))]
CanReadReference = Annotated[Actor, Depends(require("reference.read"))]
SignedIn = Annotated[Actor, Depends(require("account.self"))]
CanManageUsers = Annotated[Actor, Depends(require("users.manage"))]
CanReadAudit = Annotated[Actor, Depends(require("audit.read"))]
CanExport = Annotated[Actor, Depends(require("export.read"))]
CanReadCommissioners = Annotated[Actor, Depends(require("commissioner.read"))]
CanManageCommissioners = Annotated[Actor, Depends(require("commissioner.manage"))]
CanReadAssignments = Annotated[Actor, Depends(require("assignment.read"))]
CanAssign = Annotated[Actor, Depends(require("assignment.write"))]
CanReadServices = Annotated[Actor, Depends(require("service.read"))]
CanWriteServices = Annotated[Actor, Depends(require("service.write"))]
CanReadCommissionerReports = Annotated[Actor, Depends(require("commissioner.report"))]
CanReadImports = Annotated[Actor, Depends(require("import.read"))]
CanImport = Annotated[Actor, Depends(require("import.write"))]
CanApproveImports = Annotated[Actor, Depends(require("import.approve"))]
CanWriteReference = Annotated[Actor, Depends(require("reference.write"))]
