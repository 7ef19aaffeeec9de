"""Page sessions: a server-side record behind an HttpOnly cookie, and CSRF checks for forms."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from service.access import policy, tokencache
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


@dataclass(frozen=True, slots=True)
class Account:
    """What a page shows of the signed-in user."""

    id: int
    display_name: str
    must_change_password: bool


@dataclass(frozen=True, slots=True)
class PageSession:
    """The page session's record as it was read: plain values, safe to share between requests
    (routes that change it load the row by id)."""

    id: int
    csrf_token: str
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class PageUser:
    actor: Actor
    user: Account
    record: PageSession


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _look_up(
    session: Session, session_hash: str, *, now: datetime, idle: timedelta
) -> tuple[PageUser, datetime] | None:
    """The page user behind a cookie, from the database; touches the record once a minute."""
    found = access_service.user_for_session(session, session_hash, now=now, idle=idle)
    if found is None:
        return None
    user, record = found
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        session.add(record)
    page_user = PageUser(
        access_service.actor_of(user),
        Account(user.id or 0, user.display_name, user.must_change_password),
        PageSession(record.id or 0, record.csrf_token, record.last_seen_at),
    )
    return page_user, record.expires_at


async def current_page_user(request: Request, session: SessionDep) -> PageUser:
    """Async, and answered from the page-session cache when it can (service/access/tokencache.py):
    a page view then needs no query and no thread-pool hop to know who is asking. A remembered
    answer is used only within a minute of its last touch, so the idle limit and the touch that
    keeps the session alive are still the database's."""
    settings = _settings(request)
    secret = request.cookies.get(cookie_name(settings))
    now = utcnow()
    idle = timedelta(minutes=settings.session_idle_minutes)
    page_user: PageUser | None = None
    if secret:
        session_hash = access_service.sha256(secret)
        cache: tokencache.TokenCache[PageUser] = request.app.state.page_session_cache
        page_user = await cache.answer(
            session_hash,
            now,
            lambda: _look_up(session, session_hash, now=now, idle=idle),
            # Due a touch: the idle limit is the database's to say.
            usable=lambda known: now - known.record.last_seen_at < TOUCH_EVERY,
        )
    if page_user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.actor = page_user.actor
    request.state.csrf_token = page_user.record.csrf_token
    if page_user.user.must_change_password and request.url.path not in {"/password", "/logout"}:
        raise PasswordChangeRequired()
    return page_user


def user_row(session: Session, page_user: PageUser) -> User:
    """The signed-in user's row, for the routes that change it (a password)."""
    user = session.get(User, page_user.user.id)
    if user is None:  # deleted since the cookie was checked: as good as signed out
        raise LoginRequired("/")
    return user


def session_row(session: Session, page_user: PageUser) -> WebSession:
    """This page session's row, for the routes that change it (logout)."""
    record = session.get(WebSession, page_user.record.id)
    if record is None:
        raise LoginRequired("/")
    return record


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
