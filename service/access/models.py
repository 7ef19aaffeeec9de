"""Accounts, API tokens, page sessions and login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from service.db import TimestampedTable, UTCDateTime, utcnow

ROLES = ("admin", "manager", "district_officer", "commissioner", "viewer")


class User(TimestampedTable, table=True):
    """A person who signs in; never deleted, only disabled."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    display_name: str = Field(max_length=60)
    role: str = Field(max_length=20)
    district_code: str | None = Field(default=None, foreign_key="district.code", max_length=8)
    commissioner_id: int | None = None
    password_hash: str = Field(max_length=255)
    active: bool = True
    must_change_password: bool = False
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Bumped on disable, role, district or password change: old sessions and tokens die.
    auth_epoch: int = 1


class ApiToken(TimestampedTable, table=True):
    """A personal API token; only its SHA-256 is stored, the token is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=60)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    auth_epoch: int = 1


class WebSession(TimestampedTable, table=True):
    """A page session kept server-side, so logout and disabling take effect at once."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    csrf_token: str = Field(max_length=64)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    auth_epoch: int = 1


class LoginAttempt(TimestampedTable, table=True):
    """One login attempt, for throttling by username and by address."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, index=True)
    address: str = Field(max_length=64, index=True)
    success: bool
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
