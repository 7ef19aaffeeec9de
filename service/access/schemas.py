"""API shapes for accounts and tokens (never a password or a token hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool

from service.inputs import Input

Role = Literal["admin", "manager", "district_officer", "commissioner", "viewer"]


class TokenRequest(Input):
    username: Annotated[str, Field(min_length=1, max_length=60)]
    password: Annotated[str, Field(min_length=1, max_length=128)]
    name: Annotated[str, Field(min_length=1, max_length=60)] = "API"
    days: Annotated[int, Field(ge=1, le=365)] = 90


class TokenCreate(Input):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    days: Annotated[int, Field(ge=1, le=365)] = 90


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime


class TokenCreated(TokenPublic):
    token: str  # shown once


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    district_code: str | None
    commissioner_id: int | None
    active: bool
    must_change_password: bool
    last_login_at: datetime | None


class UserCreate(Input):
    username: Annotated[str, Field(min_length=2, max_length=60, pattern=r"^[A-Za-z0-9_.@-]+$")]
    display_name: Annotated[str, Field(min_length=1, max_length=60)]
    role: Role
    district_code: str | None = None
    password: Annotated[str, Field(min_length=1, max_length=128)]


class UserUpdate(Input):
    display_name: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    role: Role | None = None
    district_code: str | None = None
    active: StrictBool | None = None


class PasswordChange(Input):
    password: Annotated[str, Field(min_length=1, max_length=128)]


class OwnPasswordChange(Input):
    username: Annotated[str, Field(min_length=1, max_length=60)]
    old_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Annotated[str, Field(min_length=1, max_length=128)]
