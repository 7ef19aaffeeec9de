"""Password hashing (argon2id) and the password policy: length and a common-password list."""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from service.errors import FieldError, invalid

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_TOP = 3000


@cache
def hasher() -> PasswordHash:
    # OWASP minimum for argon2id: m=19456 KiB, t=2, p=1.
    return PasswordHash((Argon2Hasher(memory_cost=19456, time_cost=2, parallelism=1),))


@cache
def common_passwords() -> frozenset[str]:
    # zxcvbn ships the most common leaked passwords in rank order; the top ones are refused.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_TOP])


def check_policy(password: str, *, field: str = "password") -> None:
    """Length and commonness only: no composition rules (NIST 800-63B, ASVS V6)."""
    if len(password) < MIN_LENGTH:
        raise invalid(
            [FieldError(field, "password.too_short", f"密码至少{MIN_LENGTH}个字符", None)]
        )
    if len(password) > MAX_LENGTH:
        raise invalid(
            [FieldError(field, "password.too_long", f"密码不能超过{MAX_LENGTH}个字符", None)]
        )
    if password.lower() in common_passwords():
        raise invalid([FieldError(field, "password.common", "该密码过于常见，请换一个", None)])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify(password: str, password_hash: str) -> tuple[bool, str | None]:
    """(valid, new hash if the parameters changed and it should be re-hashed)."""
    return hasher().verify_and_update(password, password_hash)


@cache
def dummy_hash() -> str:
    return hash_password("no-such-user-dummy-password")


def burn_time(password: str) -> None:
    """Verify against a dummy hash so an unknown username takes as long as a known one."""
    hasher().verify(password, dummy_hash())
