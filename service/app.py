"""The application factory: engine on app.state, routers, middleware and error handlers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import Depends, FastAPI
from sqlalchemy.engine import Engine

from service import __version__
from service.access.routes import router as access_router
from service.access.tokencache import TokenCache
from service.apidocs import install_docs
from service.audit.routes import router as audit_router
from service.bodylimit import BodyLimitMiddleware
from service.commissioners.routes import router as commissioners_router
from service.config import Settings
from service.db import make_engine
from service.enterprises.routes import router as enterprises_router
from service.errors import document_problems, install_handlers
from service.imports.routes import router as imports_router
from service.inputs import refuse_unstorable_params
from service.ladder.routes import router as ladder_router
from service.reference.admin_routes import router as reference_admin_router
from service.reference.routes import router as reference_router
from service.reports.routes import router as reports_router
from service.requestid import RequestIdMiddleware
from service.security import SecurityHeadersMiddleware
from service.web.app import install_pages


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    today: Callable[[], date] | None = None,
) -> FastAPI:
    """Build the app; nothing is created at import time, so tests and the CLI choose."""
    settings = settings or Settings()
    app = FastAPI(
        title="TierLedger 梯度培育台账",
        version=__version__,
        description="重庆市先进材料产业优质中小企业梯度培育台账服务",
        docs_url=None,  # service.apidocs serves /docs without a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(refuse_unstorable_params)],
    )
    app.state.settings = settings
    app.state.token_cache = TokenCache(settings.auth_cache_seconds)
    app.state.page_session_cache = TokenCache(settings.auth_cache_seconds)
    app.state.engine = engine or make_engine(
        settings.resolved_database_url(), busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    app.state.today = today
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, upload_max_bytes=settings.upload_max_bytes)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.production)
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", tags=["运行状态"], summary="健康检查")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(access_router)
    app.include_router(reference_router)
    app.include_router(reference_admin_router)
    app.include_router(enterprises_router)
    # Routes are matched in order, one by one: the pages (the list page is the hottest) go
    # right after the enterprise API rather than after every other router, which took a sixth
    # of a cached page's time to reach. No page path starts with /api, so the order decides
    # nothing else; the OpenAPI schema, which leaves the pages out, is unchanged.
    install_pages(app)
    app.include_router(ladder_router)
    app.include_router(audit_router)
    app.include_router(reports_router)
    app.include_router(imports_router)
    app.include_router(commissioners_router)
    install_docs(app)
    document_problems(app)
    return app
