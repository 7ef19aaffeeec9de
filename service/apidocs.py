"""The interactive API documentation at /docs, served from this machine.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script: on an
intranet it stays blank, and the page policy forbids inline script. The Swagger UI files come
from the fastapi-offline wheel (used only for its assets); the page below loads them and our
start-up script from /static, so /docs needs neither the internet nor 'unsafe-inline' script.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"

_PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>TierLedger 梯度培育台账 — 接口文档</title>
<link rel="icon" href="{ASSETS}/favicon.png">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """/docs and its assets; the app is built with docs_url=None and redoc_url=None."""
    app.mount(
        ASSETS,
        StaticFiles(directory=str(files("fastapi_offline") / "static")),
        name="docs-assets",
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE)
