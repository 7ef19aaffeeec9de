"""Page sessions: a server-side record behind an HttpOnly cookie, and CSRF checks for forms."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.access import policy
from service.access import service as access_service
from service.access.actor import Actor
from service.access.models import User, WebSession
from service.config import Settings
from service.db import SessionDep, utcnow
from service.errors import LedgerError

LOGIN_CSRF_COOKIE = "tl_login_csrf"
# Writing last_seen_at on every page view would make every read a write; a minute is enough.
TOUCH_EVERY = timedelta(minutes=1)


def cookie_name(settings: Settings) -> str:
    # __Host- pins the cookie to this host, path / and HTTPS: only possible with Secure.
    return "__Host-tl_session" if settings.production else "tl_session"


def set_session_cookie(response: object, settings: Settings, secret: str) -> None:
    response.set_cookie(  # type: ignore[attr-defined]
        cookie_name(settings),
        secret,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.production,
        path="/",
    )


def clear_session_cookie(response: object, settings: Settings) -> None:
    response.delete_cookie(  # type: ignore[attr-defined]
        cookie_name(settings), path="/", secure=settings.production, httponly=True, samesite="lax"
    )


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """The first admin (and anyone an admin reset) must choose a password before anything else."""


@dataclass(frozen=True)
class PageUser:
    actor: Actor
    user: User
    record: WebSession


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def current_page_user(request: Request, session: SessionDep) -> PageUser:
    settings = _settings(request)
    secret = request.cookies.get(cookie_name(settings))
    now = utcnow()
    found = (
        access_service.user_for_session(
            session, secret, now=now, idle=timedelta(minutes=settings.session_idle_minutes)
        )
        if secret
        else None
    )
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    user, record = found
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        session.add(record)
    page_user = PageUser(access_service.actor_of(user), user, record)
    request.state.actor = page_user.actor
    request.state.csrf_token = record.csrf_token
    if user.must_change_password and request.url.path not in {"/password", "/logout"}:
        raise PasswordChangeRequired()
    return page_user


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _forbidden_csrf() -> LedgerError:
    return LedgerError(
        "csrf.failed", "请求已过期或来源不明", 403, "页面已过期，请刷新页面后重新提交"
    )


async def check_csrf(request: Request, expected: str) -> None:
    """Unsafe page requests need our form token and must come from our own pages."""
    if not _same_origin(request):
        raise _forbidden_csrf()
    # The token is in the form, so the form is parsed here: refuse an oversized upload first.
    limit = request.app.state.settings.upload_max_bytes + 64 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise LedgerError("http.too_large", "上传内容过大", 413, "上传文件不能超过 50 MB")
    form = await request.form(max_files=1, max_fields=50)
    given = form.get("csrf_token")
    if not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise _forbidden_csrf()


def page_require(permission: str) -> object:
    """A page dependency: signed in, allowed this function, and CSRF-checked when unsafe."""

    async def dependency(
        request: Request,
        session: SessionDep,
        page_user: Annotated[PageUser, Depends(current_page_user)],
    ) -> PageUser:
        if request.method not in {"GET", "HEAD"}:
            await check_csrf(request, page_user.record.csrf_token)
        if not policy.allowed(page_user.actor.role, permission):

            def deny() -> None:
                access_service.record_denial(
                    session,
                    page_user.actor,
                    permission=permission,
                    method=request.method,
                    path=request.url.path,
                )
                session.commit()  # kept although the request fails

            await run_in_threadpool(deny)
            raise LedgerError("access.forbidden", "无权执行此操作", 403, "您的角色没有此项权限")
        return page_user

    dependency.permission = permission  # type: ignore[attr-defined]
    return Depends(dependency)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def login_redirect(next_url: str) -> str:
    safe = next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"
    return f"/login?next={quote(safe)}"


def open_page_session(session: Session, settings: Settings, user: User) -> str:
    new = access_service.open_session(
        session, user, absolute=timedelta(hours=settings.session_absolute_hours)
    )
    return new.secret
