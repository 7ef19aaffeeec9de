"""Every response carries the security headers; an internal error tells nothing but an id."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MANAGER


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/enterprises", "/api/v1/nowhere", "/docs"])
def test_security_headers(app_for: Callable[..., TestClient], path: str) -> None:
    r = app_for(MANAGER).get(path)
    csp = r.headers["content-security-policy"]
    assert "object-src 'none'" in csp
    assert "base-uri 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-request-id"]


def test_api_docs_work_offline_without_inline_script(app_for: Callable[..., TestClient]) -> None:
    """/docs is the API's manual on an intranet: every script it loads comes from this server."""
    client = app_for(MANAGER)
    page = client.get("/docs")
    assert page.status_code == 200
    assert "<script>" not in page.text.replace(" ", "")  # no inline script
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert len(sources) == 4
    for src in sources:
        assert src.startswith("/"), src  # nothing from another host
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert len(asset.content) > 500
    assert "SwaggerUIBundle" in client.get("/static/apidocs.js").text
    assert client.get("/openapi.json").json()["info"]["title"] == "TierLedger 梯度培育台账"
    assert client.get("/redoc").status_code == 404


def test_internal_error_is_generic_with_an_id_in_the_log(
    app_for: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = app_for(MANAGER)

    @client.app.get("/api/v1/boom")  # type: ignore[attr-defined]
    def boom() -> None:
        raise RuntimeError("SELECT secret_column FROM hidden_table")

    with caplog.at_level(logging.ERROR, logger="tierledger"):
        r = client.get("/api/v1/boom")
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "internal"
    assert "secret_column" not in r.text
    assert "Traceback" not in r.text
    assert body["error_id"] in body["detail"]
    assert body["error_id"] in caplog.text
    assert r.headers["content-security-policy"]


def test_request_id_is_echoed_when_sane(app_for: Callable[..., TestClient]) -> None:
    client = app_for(MANAGER)
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    weird = client.get("/healthz", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
    assert weird != "a b\tc"


def test_openapi_declares_the_problems_the_api_returns(client: TestClient) -> None:
    """Found by schemathesis: errors were undocumented or declared as FastAPI's application/json."""
    doc = client.get("/openapi.json").json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"

    def declared(method: str, path: str) -> dict[str, object]:
        return doc["paths"][path][method]["responses"]

    patch = declared("patch", "/api/v1/enterprises/{enterprise_id}")
    assert {"400", "401", "403", "404", "409", "412", "422", "428"} <= set(patch)
    assert all(patch[s]["content"] == problem for s in ("401", "404", "422", "428"))
    listing = declared("get", "/api/v1/enterprises")
    assert {"401", "403", "422"} <= set(listing)
    assert "409" not in listing
    assert {"411", "413"} <= set(declared("post", "/api/v1/imports"))
    assert {"401", "403", "429"} <= set(declared("post", "/api/v1/auth/token"))
    assert doc["paths"]["/api/v1/enterprises"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in doc["paths"]["/api/v1/auth/token"]["post"]


def test_a_number_past_the_database_is_422_not_500(client: TestClient) -> None:
    """Found by schemathesis: an id past 64 bits was a 500 (SQLite OverflowError, PG 22003)."""
    r = client.get(f"/api/v1/enterprises/{2**70}")
    assert r.status_code == 422, r.text  # SQLite cannot bind it, PostgreSQL says 22003
    assert r.json()["code"] == "validation.out_of_range"
    assert r.headers["content-type"] == "application/problem+json"


def test_internal_error_on_a_page_is_the_error_page_with_its_id(
    app_for: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    """People on the pages see a page in Chinese with the error id, never JSON or a trace."""
    client = app_for(MANAGER)

    @client.app.get("/page-boom")  # type: ignore[attr-defined]
    def boom() -> None:
        raise RuntimeError("SELECT secret_column FROM hidden_table")

    with caplog.at_level(logging.ERROR, logger="tierledger"):
        r = client.get("/page-boom")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    assert "系统内部错误" in r.text
    error_id = re.search(r"错误编号：<code>([0-9a-f]{12})</code>", r.text)
    assert error_id is not None
    assert error_id.group(1) in caplog.text
    assert "secret_column" not in r.text
    assert "content-security-policy" in r.headers
