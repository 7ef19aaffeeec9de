"""Accounts: users, sign-in with throttling, API tokens and page sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from service.access import passwords
from service.access.actor import Actor
from service.access.models import ROLES, ApiToken, LoginAttempt, User, WebSession
from service.audit import service as audit_service
from service.db import utcnow
from service.errors import FieldError, LedgerError, invalid, not_found
from service.reference.service import unknown_district

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 10
MAX_FAILURES_PER_ADDRESS = 50
TOKEN_BYTES = 32


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(
        id=user.id,
        name=user.display_name,
        role=user.role,
        district_code=user.district_code,
        commissioner_id=user.commissioner_id,
    )


def _user_values(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "district_code": user.district_code,
        "active": user.active,
    }


def _check_role(session: Session, role: str, district_code: str | None) -> None:
    errors = []
    if role not in ROLES:
        errors.append(
            FieldError("role", "user.role_unknown", f"角色应为{'、'.join(ROLES)}之一", role)
        )
    if role == "district_officer":
        if not district_code:
            errors.append(FieldError("district_code", "required", "区县用户必须指定所属区县", None))
        elif problem := unknown_district(session, district_code):
            errors.append(problem)
    if errors:
        raise invalid(errors)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("用户", "user.not_found")
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(sa.select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).order_by(User.id)))


def add_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    district_code: str | None = None,
    must_change_password: bool = False,
) -> User:
    _check_role(session, role, district_code)
    passwords.check_policy(password)
    if find_user(session, username) is not None:
        raise LedgerError(
            "user.duplicate",
            "用户名已存在",
            409,
            f"用户名“{username}”已被使用",
            [FieldError("username", "user.duplicate", "用户名已被使用", username)],
        )
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        district_code=district_code if role == "district_officer" else None,
        password_hash=passwords.hash_password(password),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="user.add",
        entity="user",
        entity_id=user.id,
        entity_repr=username,
        after=_user_values(user),
    )
    return user


def update_user(
    session: Session,
    actor: Actor,
    user: User,
    *,
    display_name: str | None = None,
    role: str | None = None,
    district_code: str | None = None,
    active: bool | None = None,
) -> User:
    before = _user_values(user)
    new_role = role or user.role
    new_district = district_code if district_code is not None else user.district_code
    _check_role(session, new_role, new_district)
    if display_name is not None:
        user.display_name = display_name
    scope_changed = new_role != user.role or (new_district or None) != user.district_code
    user.role = new_role
    user.district_code = new_district if new_role == "district_officer" else None
    if active is not None:
        scope_changed = scope_changed or (user.active and not active)
        user.active = active
    if scope_changed:
        user.auth_epoch += 1  # sessions and tokens issued before this stop working now
    session.add(user)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="user.update",
        entity="user",
        entity_id=user.id,
        entity_repr=user.username,
        before=before,
        after=_user_values(user),
    )
    return user


def set_password(
    session: Session, actor: Actor, user: User, password: str, *, must_change: bool = False
) -> None:
    passwords.check_policy(password)
    user.password_hash = passwords.hash_password(password)
    user.must_change_password = must_change
    user.auth_epoch += 1
    session.add(user)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="user.password",
        entity="user",
        entity_id=user.id,
        entity_repr=user.username,
        changes={"password": ["***", "***"]},
    )


def _throttled(session: Session, username: str, address: str) -> bool:
    since = utcnow() - THROTTLE_WINDOW
    failures = sa.select(sa.func.count()).where(
        LoginAttempt.success.is_(False),  # type: ignore[attr-defined]
        LoginAttempt.at >= since,
    )
    by_user = session.scalar(failures.where(LoginAttempt.username == username)) or 0
    by_address = session.scalar(failures.where(LoginAttempt.address == address)) or 0
    return by_user >= MAX_FAILURES_PER_USERNAME or by_address >= MAX_FAILURES_PER_ADDRESS


def authenticate(session: Session, *, username: str, password: str, address: str) -> User:
    """Check a password; unknown users and wrong passwords look the same from outside."""
    username = username.strip()
    if _throttled(session, username, address):
        passwords.burn_time(password)
        audit_service.record(
            session,
            Actor(None, username[:60], ""),
            action="auth.login_locked",
            entity="user",
            entity_repr=username[:60],
            changes={"address": [None, address]},
        )
        raise LedgerError(
            "auth.throttled",
            "登录失败次数过多",
            429,
            f"登录失败次数过多，请{int(THROTTLE_WINDOW.total_seconds() // 60)}分钟后再试",
            headers={"Retry-After": str(int(THROTTLE_WINDOW.total_seconds()))},
        )
    user = find_user(session, username)
    ok = False
    if user is None:
        passwords.burn_time(password)
    else:
        ok, new_hash = passwords.verify(password, user.password_hash)
        if ok and new_hash:
            user.password_hash = new_hash  # parameters changed: re-hash on this login
    if not ok or user is None or not user.active:
        session.add(LoginAttempt(username=username[:60], address=address[:64], success=False))
        audit_service.record(
            session,
            Actor(user.id if user else None, username[:60], user.role if user else ""),
            action="auth.login_failed",
            entity="user",
            entity_id=user.id if user else "",
            entity_repr=username[:60],
            changes={"address": [None, address]},
        )
        raise LedgerError("auth.invalid_credentials", "用户名或密码错误", 401, "用户名或密码错误")
    session.add(LoginAttempt(username=username[:60], address=address[:64], success=True))
    user.last_login_at = utcnow()
    session.add(user)
    audit_service.record(
        session,
        actor_of(user),
        action="auth.login",
        entity="user",
        entity_id=user.id,
        entity_repr=user.username,
        changes={"address": [None, address]},
    )
    return user


def record_denial(
    session: Session, actor: Actor, *, permission: str, method: str, path: str
) -> None:
    """A refused function is audited: who tried what, and which right they lacked."""
    audit_service.record(
        session,
        actor,
        action="access.denied",
        entity="route",
        entity_repr=f"{method} {path}"[:300],
        changes={"permission": [None, permission]},
    )


def require_password_current(user: User) -> None:
    if user.must_change_password:
        raise LedgerError(
            "auth.password_change_required",
            "请先修改初始密码",
            403,
            "这是管理员设置的初始密码，请先通过 POST /api/v1/auth/password 或登录页面修改",
        )


def ensure_first_admin(session: Session, *, password: str | None) -> tuple[User, str] | None:
    """On an empty database, create `admin`; returns it and the password to print once."""
    if session.scalar(sa.select(sa.func.count()).select_from(User)):
        return None
    import secrets as _secrets

    from service.access.actor import SYSTEM

    chosen = password or _secrets.token_urlsafe(12)
    user = add_user(
        session,
        SYSTEM,
        username="admin",
        display_name="系统管理员",
        role="admin",
        password=chosen,
        must_change_password=True,
    )
    return user, chosen


# ---- API tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once


def create_token(
    session: Session, actor: Actor, user: User, *, name: str, days: int = 90
) -> NewToken:
    secret = "tl_" + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        user_id=user.id or 0,
        name=name,
        token_hash=sha256(secret),
        prefix=secret[:10],
        expires_at=utcnow() + timedelta(days=days),
        auth_epoch=user.auth_epoch,
    )
    session.add(token)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="token.create",
        entity="api_token",
        entity_id=token.id,
        entity_repr=f"{user.username}：{name}",
        after={"name": name, "prefix": token.prefix, "expires_at": token.expires_at},
    )
    return NewToken(token, secret)


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )


def revoke_token(session: Session, actor: Actor, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and actor.role != "admin"):
        raise not_found("令牌", "token.not_found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()
        audit_service.record(
            session,
            actor,
            action="token.revoke",
            entity="api_token",
            entity_id=token.id,
            entity_repr=token.name,
        )
    return token


# Built once: every API request asks this, and building and keying the statement each time
# cost three times running it.
_LIVE_TOKEN_USER = (
    sa.select(User, ApiToken.expires_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == sa.bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),  # type: ignore[union-attr]
        ApiToken.expires_at > sa.bindparam("now", type_=ApiToken.__table__.c.expires_at.type),  # type: ignore[attr-defined]
        User.active.is_(True),  # type: ignore[attr-defined]
        User.auth_epoch == ApiToken.auth_epoch,
    )
)


def user_for_token(
    session: Session, token_hash: str, now: datetime
) -> tuple[User, datetime] | None:
    """The user a live token belongs to, and when the token expires: not revoked, not
    expired, issued in the user's current auth epoch, user active. One query, as every API
    request asks it (`tokencache` keeps its answer for a moment)."""
    row = session.execute(_LIVE_TOKEN_USER, {"token_hash": token_hash, "now": now}).first()
    return None if row is None else (row[0], row[1])


# ---- page sessions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    record: WebSession
    secret: str


def open_session(session: Session, user: User, *, absolute: timedelta) -> NewSession:
    secret = secrets.token_urlsafe(TOKEN_BYTES)
    record = WebSession(
        session_hash=sha256(secret),
        user_id=user.id or 0,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=utcnow() + absolute,
        auth_epoch=user.auth_epoch,
    )
    session.add(record)
    session.flush()
    return NewSession(record, secret)


def user_for_session(
    session: Session, session_hash: str, *, now: datetime, idle: timedelta
) -> tuple[User, WebSession] | None:
    """The user behind a page session (by the sha256 of its cookie), if it is still good."""
    record = session.scalar(sa.select(WebSession).where(WebSession.session_hash == session_hash))
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    if record.last_seen_at + idle <= now:
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.active or user.auth_epoch != record.auth_epoch:
        return None
    return user, record


def close_session(session: Session, actor: Actor, record: WebSession) -> None:
    record.revoked_at = utcnow()
    session.add(record)
    audit_service.record(
        session, actor, action="auth.logout", entity="user", entity_id=record.user_id
    )
