"""What text a request may carry: the one rule for input the ledger stores or hands on.

PostgreSQL refuses NUL in text, UTF-8 cannot encode a lone surrogate, and a workbook (XML 1.0)
cannot hold the other C0 control characters: text with any of them would be a 500 on one
backend, stored on the other, and mangled in every export. So they are refused at the edge with
the field named, on every JSON body (`Input`), query and path parameter and page form
(`refuse_unstorable_params`). Tab, line feed and carriage return stay allowed. The character
class itself is `exports.text.UNSTORABLE`, which the roster reader refuses too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from fastapi import Request
from pydantic import BaseModel, ConfigDict, field_validator

from exports.text import unstorable_reason as unstorable_message
from service.errors import FieldError, invalid

CODE: Final = "text.control_character"


def _first_unstorable(value: Any) -> str | None:
    if isinstance(value, str):
        return unstorable_message(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            if (message := _first_unstorable(item)) is not None:
                return message
    return None


class Input(BaseModel):
    """The base of every request body: unknown fields refused, text stripped and storable."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if (message := _first_unstorable(value)) is not None:
            raise ValueError(f"{CODE}|{message}")
        return value


def _param_errors(items: Iterable[tuple[str, Any]]) -> list[FieldError]:
    return [
        FieldError(name, CODE, message, value)
        for name, value in items
        if (message := unstorable_message(str(value))) is not None
    ]


async def refuse_unstorable_params(request: Request) -> None:
    """App-wide dependency: path and query parameters, and url-encoded page forms.

    Multipart bodies are left to their routes, which parse them with their own size limits."""
    items: list[tuple[str, Any]] = [*request.path_params.items()]
    items += request.query_params.multi_items()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        items += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    if errors := _param_errors(items):
        raise invalid(errors)
