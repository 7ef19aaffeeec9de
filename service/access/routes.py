"""HTTP edge for accounts: tokens for programs, the caller's own account, user admin."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from service.access import service
from service.access.deps import CanManageUsers, SignedIn
from service.access.models import ApiToken, User
from service.access.schemas import (
    OwnPasswordChange,
    PasswordChange,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokenRequest,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from service.db import SessionDep
from service.errors import LedgerError, problem_responses

router = APIRouter(prefix="/api/v1", tags=["账户"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticate(request: Request, session: SessionDep, username: str, password: str) -> User:
    """Sign in; a failure's attempt and audit event are committed before the 401/429 leaves,
    or throttling would never see them."""
    try:
        return service.authenticate(
            session, username=username, password=password, address=client_address(request)
        )
    except LedgerError:
        session.commit()
        raise


def _token(t: ApiToken) -> TokenPublic:
    return TokenPublic.model_validate(t, from_attributes=True)


def _user(u: User) -> UserPublic:
    return UserPublic.model_validate(u, from_attributes=True)


# Signing in checks a password in the body, not a token: wrong (401), must change first (403),
# too many failures (429).
_SIGN_IN_PROBLEMS = problem_responses(401, 403, 429)


@router.post(
    "/auth/token",
    response_model=TokenCreated,
    status_code=201,
    summary="用密码换取访问令牌",
    responses=_SIGN_IN_PROBLEMS,
)
def issue_token(request: Request, session: SessionDep, body: TokenRequest) -> TokenCreated:
    user = authenticate(request, session, body.username, body.password)
    service.require_password_current(user)
    new = service.create_token(
        session, service.actor_of(user), user, name=body.name, days=body.days
    )
    return TokenCreated(**_token(new.token).model_dump(), token=new.secret)


@router.post("/auth/password", status_code=204, summary="修改本人密码", responses=_SIGN_IN_PROBLEMS)
def change_own_password(request: Request, session: SessionDep, body: OwnPasswordChange) -> Response:
    user = authenticate(request, session, body.username, body.old_password)
    service.set_password(session, service.actor_of(user), user, body.new_password)
    return Response(status_code=204)


@router.get("/auth/me", response_model=UserPublic, summary="当前用户")
def me(session: SessionDep, actor: SignedIn) -> UserPublic:
    return _user(service.get_user(session, actor.id or 0))


@router.get("/auth/tokens", response_model=list[TokenPublic], summary="我的访问令牌")
def my_tokens(session: SessionDep, actor: SignedIn) -> list[TokenPublic]:
    return [
        _token(t) for t in service.list_tokens(session, service.get_user(session, actor.id or 0))
    ]


@router.post("/auth/tokens", response_model=TokenCreated, status_code=201, summary="新建访问令牌")
def new_token(session: SessionDep, actor: SignedIn, body: TokenCreate) -> TokenCreated:
    user = service.get_user(session, actor.id or 0)
    new = service.create_token(session, actor, user, name=body.name, days=body.days)
    return TokenCreated(**_token(new.token).model_dump(), token=new.secret)


@router.delete("/auth/tokens/{token_id}", status_code=204, summary="吊销访问令牌")
def revoke_token(session: SessionDep, actor: SignedIn, token_id: int) -> Response:
    service.revoke_token(session, actor, service.get_user(session, actor.id or 0), token_id)
    return Response(status_code=204)


@router.get("/users", response_model=list[UserPublic], summary="用户列表")
def list_users(session: SessionDep, _actor: CanManageUsers) -> list[UserPublic]:
    return [_user(u) for u in service.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201, summary="新建用户")
def add_user(session: SessionDep, actor: CanManageUsers, body: UserCreate) -> UserPublic:
    return _user(
        service.add_user(
            session,
            actor,
            username=body.username,
            display_name=body.display_name,
            role=body.role,
            password=body.password,
            district_code=body.district_code,
            must_change_password=True,
        )
    )


@router.patch("/users/{user_id}", response_model=UserPublic, summary="修改用户")
def update_user(
    session: SessionDep,
    actor: CanManageUsers,
    user_id: int,
    body: UserUpdate,
) -> UserPublic:
    user = service.get_user(session, user_id)
    return _user(service.update_user(session, actor, user, **body.model_dump(exclude_unset=True)))


@router.post("/users/{user_id}/password", status_code=204, summary="重设用户密码")
def reset_password(
    session: SessionDep,
    actor: CanManageUsers,
    user_id: int,
    body: PasswordChange,
) -> Response:
    user = service.get_user(session, user_id)
    service.set_password(session, actor, user, body.password, must_change=True)
    return Response(status_code=204)
