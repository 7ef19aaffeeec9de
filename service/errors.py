"""One error base class and the one handler that turns it into RFC 9457 problem details."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.bodylimit import BodyTooLarge
from service.requestid import current_request_id

log = logging.getLogger("tierledger")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class FieldError:
    """A problem with one field: programs read `code`, people read `message`."""

    field: str
    code: str
    message: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "value": _jsonable(self.value),
        }


@dataclass
class LedgerError(Exception):
    """Every error the service raises on purpose: a stable dotted code and a Chinese title."""

    code: str
    title: str
    status: int = 400
    detail: str = ""
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail or self.title}"


def not_found(entity_zh: str, code: str) -> LedgerError:
    # Out-of-scope objects raise exactly this too, so the two cannot be told apart.
    return LedgerError(code, f"{entity_zh}不存在", 404, f"未找到该{entity_zh}")


def invalid(fields: list[FieldError], detail: str = "") -> LedgerError:
    return LedgerError(
        "validation.failed",
        "提交的数据有误",
        422,
        detail or "；".join(f"{f.field}：{f.message}" for f in fields),
        fields,
    )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str = "",
    fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:tierledger:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "errors": [f.to_dict() for f in fields or []],
        "request_id": current_request_id(),
    }
    if extra:
        body.update(_jsonable(extra))
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


# Pydantic's error types → a stable code and a Chinese message.
_PYDANTIC_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("required", "必填项缺失"),
    "string_too_short": ("too_short", "内容过短"),
    "string_too_long": ("too_long", "内容过长"),
    "string_type": ("type", "应为文本"),
    "int_parsing": ("type", "应为整数"),
    "int_type": ("type", "应为整数"),
    "int_from_float": ("type", "应为整数"),
    "decimal_parsing": ("type", "应为数字"),
    "decimal_type": ("type", "应为数字"),
    "decimal_max_places": ("precision", "小数位数过多"),
    "decimal_max_digits": ("precision", "数字位数过多"),
    "float_parsing": ("type", "应为数字"),
    "bool_parsing": ("type", "应为是/否"),
    "bool_type": ("type", "应为是/否"),
    "date_from_datetime_parsing": ("type", "应为日期（YYYY-MM-DD）"),
    "date_parsing": ("type", "应为日期（YYYY-MM-DD）"),
    "date_type": ("type", "应为日期（YYYY-MM-DD）"),
    "greater_than_equal": ("out_of_range", "数值过小"),
    "greater_than": ("out_of_range", "数值过小"),
    "less_than_equal": ("out_of_range", "数值过大"),
    "less_than": ("out_of_range", "数值过大"),
    "literal_error": ("choice", "不是允许的取值"),
    "enum": ("choice", "不是允许的取值"),
    "extra_forbidden": ("unknown_field", "不允许的字段"),
    "json_invalid": ("json", "JSON 格式有误"),
    "model_attributes_type": ("type", "应为对象"),
    "dict_type": ("type", "应为对象"),
    "list_type": ("type", "应为列表"),
    "string_pattern_mismatch": ("format", "格式不正确"),
    "value_error": ("invalid", "取值无效"),
}


def _field_errors_from_validation(exc: RequestValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        name = ".".join(loc) or "body"
        etype = str(err.get("type", "value_error"))
        code, msg = _PYDANTIC_MESSAGES.get(etype, ("invalid", "取值无效"))
        ctx = err.get("ctx") or {}
        if etype == "value_error" and ctx.get("error"):
            # Our own validators raise ValueError("code|中文说明").
            text = str(ctx["error"])
            code, _, msg = text.partition("|") if "|" in text else ("invalid", "", text)
        elif etype in {"greater_than_equal", "greater_than"}:
            bound = ctx.get("ge", ctx.get("gt"))
            msg = f"不能小于{bound}" if etype == "greater_than_equal" else f"应大于{bound}"
        elif etype in {"less_than_equal", "less_than"}:
            bound = ctx.get("le", ctx.get("lt"))
            msg = f"不能大于{bound}" if etype == "less_than_equal" else f"应小于{bound}"
        elif etype in {"string_too_long", "string_too_short"}:
            limit = ctx.get("max_length", ctx.get("min_length"))
            msg = f"长度不能超过{limit}个字符" if etype == "string_too_long" else msg
        elif etype == "literal_error" and ctx.get("expected"):
            msg = f"应为以下之一：{ctx['expected']}"
        out.append(FieldError(name, code, msg, err.get("input")))
    return out


def install_handlers(app: FastAPI) -> None:
    """The only place exceptions become HTTP responses."""

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> Response:
        if wants_html(request):
            return render_error_page(
                request, exc.status, exc.title, exc.detail, headers=exc.headers
            )
        return problem(
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            fields=exc.fields,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = _field_errors_from_validation(exc)
        if wants_html(request):
            detail = "；".join(f"{f.field}：{f.message}" for f in fields)
            return render_error_page(request, 422, "提交的数据有误", detail)
        return problem(
            status=422,
            code="validation.failed",
            title="提交的数据有误",
            detail="；".join(f"{f.field}：{f.message}" for f in fields),
            fields=fields,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            400: ("http.bad_request", "请求格式有误"),
            404: ("http.not_found", "页面或资源不存在"),
            405: ("http.method_not_allowed", "不支持该请求方法"),
            413: ("http.too_large", "上传内容过大"),
        }
        code, title = titles.get(exc.status_code, (f"http.{exc.status_code}", "请求无法处理"))
        # Starlette's own details are English reason phrases; ours say what the limit was.
        detail = exc.detail if isinstance(exc, BodyTooLarge) else title
        if wants_html(request):
            return render_error_page(request, exc.status_code, title, detail)
        return problem(
            status=exc.status_code,
            code=code,
            title=title,
            detail=detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A number the database cannot hold (an id past 64 bits, a figure past its column) is
        # bad input, not a server fault: SQLite raises OverflowError binding it, PostgreSQL
        # numeric_value_out_of_range (22003). Any other DataError stays an internal error.
        if isinstance(exc, DataError) and getattr(exc.orig, "sqlstate", None) != "22003":
            return internal_problem(exc, request)
        field = FieldError("request", "out_of_range", "数值超出可保存的范围")
        if wants_html(request):
            return render_error_page(request, 422, "提交的数据有误", field.message)
        return problem(
            status=422,
            code="validation.out_of_range",
            title="提交的数据有误",
            detail=field.message,
            fields=[field],
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        return internal_problem(exc, request)


# ---- the errors in the OpenAPI document ------------------------------------------------------

# Every error the API returns is this one shape, as application/problem+json (see `problem`).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "errors", "request_id"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "value": {},
                },
            },
        },
        "request_id": {"type": ["string", "null"]},
    },
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_DESCRIPTIONS = {
    400: "请求格式有误",
    401: "未登录或令牌无效",
    403: "无权执行此操作",
    404: "对象不存在（或不在您的权限范围内）",
    409: "与现有数据冲突",
    411: "缺少 Content-Length",
    412: "版本已变化（If-Match 不符）",
    413: "上传内容过大",
    422: "提交的数据有误",
    428: "缺少 If-Match",
    429: "请求过于频繁",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that returns these problem statuses beyond the shared rules."""
    return {
        status: {
            "description": _PROBLEM_DESCRIPTIONS.get(status, "请求无法处理"),
            "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        }
        for status in statuses
    }


def _problem_statuses(operation: dict[str, Any], method: str) -> set[int]:
    """The problems an API operation can return, from what its OpenAPI entry declares."""
    params = operation.get("parameters", [])
    body = operation.get("requestBody", {}).get("content", {})
    statuses = set()
    if params or body:
        statuses |= {404, 422}  # a path id, or an id in the body, may name nothing
    if body:
        statuses.add(400)  # a body that cannot be parsed at all (FastAPI's own answer)
    if operation.get("security"):
        statuses |= {401, 403}
    if method != "get":
        statuses.add(409)
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in params):
        statuses |= {400, 412, 428}
    if "multipart/form-data" in body:
        statuses |= {411, 413}
    return statuses


def document_problems(app: FastAPI) -> None:
    """Declare the problem+json responses of every API operation in the OpenAPI document.

    One rule set instead of per-route lists: operations with parameters can fail validation
    (422) or name a missing object (404), authenticated ones 401/403, writes 409, If-Match
    writes 400/412/428, uploads 411/413, a body that cannot be parsed 400. FastAPI's own 422
    (application/json, its HTTPValidationError) is replaced: the handlers answer a Problem.
    Routes with other problems declare them with `responses=problem_responses(...)`.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, declared in problem_responses(
                    *_problem_statuses(operation, method)
                ).items():
                    responses[str(status)] = declared
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        if "HTTPValidationError" not in json.dumps(schema["paths"]):
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


API_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/docs", "/redoc")


def wants_html(request: Request) -> bool:
    """Pages get HTML errors; the API (and anything under /api) gets problem details."""
    return not request.url.path.startswith(API_PREFIXES)


def render_error_page(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    error_id: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    renderer = getattr(request.app.state, "render_error", None)
    if renderer is None:
        return problem(status=status, code=f"http.{status}", title=title, detail=detail)
    response: Response = renderer(request, status, title, detail, error_id)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def internal_problem(exc: BaseException, request: Request | None = None) -> Response:
    """A generic Chinese message and an error id; the details go to the server log only.
    A page gets the error page with that id, the API a problem."""
    error_id = uuid.uuid4().hex[:12]
    log.error("internal error %s (request %s)", error_id, current_request_id(), exc_info=exc)
    title = "系统内部错误"
    detail = f"系统出现错误，请稍后再试。如问题持续，请联系管理员并提供错误编号 {error_id}"
    if request is not None and wants_html(request):
        return render_error_page(request, 500, title, detail, error_id=error_id)
    return problem(
        status=500, code="internal", title=title, detail=detail, extra={"error_id": error_id}
    )
