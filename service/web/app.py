"""Mounting the pages: static files, page routes, login redirects and HTML error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from service.web.admin import router as admin_router
from service.web.bulk import router as bulk_router
from service.web.commissioners import router as commissioners_router
from service.web.dashboard import Recount
from service.web.imports import router as imports_router
from service.web.ladder import router as ladder_router
from service.web.routes import router, templates
from service.web.session import LoginRequired, PasswordChangeRequired, login_redirect


def _render_error(
    request: Request, status: int, title: str, detail: str, error_id: str
) -> Response:
    me = None  # error pages never assume a session: they render the same for everyone
    return templates.TemplateResponse(
        request,
        "error.html",
        {"me": me, "title": title, "detail": detail, "error_id": error_id, "csrf_token": ""},
        status_code=status,
    )


def install_pages(app: FastAPI) -> None:
    app.mount(
        "/static",
        StaticFiles(directory=str(Path(__file__).parent / "static")),
        name="static",
    )
    app.include_router(bulk_router)
    app.include_router(router)
    app.include_router(imports_router)
    app.include_router(admin_router)
    app.include_router(ladder_router)
    app.include_router(commissioners_router)
    app.state.render_error = _render_error
    # One per process: the dashboard starts a count of the city-wide pool here when stale.
    app.state.candidate_recount = Recount(app.state.engine)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_redirect(exc.next_url), 303)

    @app.exception_handler(PasswordChangeRequired)
    async def _password(_request: Request, _exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/password", 303)
