"""HTTP edge for exports: workbooks streamed as attachments."""

from __future__ import annotations

import tempfile
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from service.access.actor import Actor
from service.access.deps import CanExport
from service.clock import IsoDate
from service.db import SessionDep, utcnow
from service.downloads import XLSX, ZIP, stream_workbook
from service.enterprises.routes import today
from service.enterprises.schemas import Status
from service.reports import ledger, tier_report

router = APIRouter(prefix="/api/v1/exports", tags=["导出"])


def _ledger(
    request: Request,
    session: SessionDep,
    actor: Actor,
    req: ledger.LedgerRequest,
    *,
    as_zip: bool,
) -> StreamingResponse:
    day = today(request)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    ledger.export_ledger(
        session,
        actor,
        spool,
        req,
        today=day,
        now=utcnow(),
        as_zip=as_zip,  # type: ignore[arg-type]
    )
    return stream_workbook(
        spool,
        ledger.filename(req.as_of or day, as_zip=as_zip),
        media_type=ZIP if as_zip else XLSX,
    )


def _ledger_request(
    subsector: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006
    district: str | None = None,
    tier: str | None = None,
    key_only: bool = False,
    status: Status | Literal["all"] = "active",
    as_of: IsoDate | None = None,
    data_year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
) -> ledger.LedgerRequest:
    return ledger.LedgerRequest(
        subsectors=subsector,
        district_code=district,
        tier_code=tier,
        key_only=key_only,
        status=None if status == "all" else status,
        as_of=as_of,
        data_year=data_year,
    )


LedgerQuery = Annotated[ledger.LedgerRequest, Depends(_ledger_request)]


@router.get(
    "/ledger.xlsx",
    summary="导出细分领域台账",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX: {}}}},
)
def ledger_xlsx(
    request: Request, session: SessionDep, actor: CanExport, req: LedgerQuery
) -> StreamingResponse:
    return _ledger(request, session, actor, req, as_zip=False)


@router.get(
    "/ledger.zip",
    summary="导出细分领域台账（每个细分领域一个工作簿，打包为 zip）",
    response_class=StreamingResponse,
    responses={200: {"content": {ZIP: {}}}},
)
def ledger_zip(
    request: Request, session: SessionDep, actor: CanExport, req: LedgerQuery
) -> StreamingResponse:
    return _ledger(request, session, actor, req, as_zip=True)


@router.get(
    "/report.xlsx",
    summary="导出梯度培育情况报表",
    response_class=StreamingResponse,
    responses={200: {"content": {XLSX: {}}}},
)
def report_xlsx(
    request: Request,
    session: SessionDep,
    actor: CanExport,
    start: Annotated[IsoDate | None, Query(alias="from")] = None,
    end: Annotated[IsoDate | None, Query(alias="to")] = None,
    as_of: IsoDate | None = None,
    district: str | None = None,
) -> StreamingResponse:
    day = today(request)
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    tier_report.export_report(
        session,
        actor,
        spool,  # type: ignore[arg-type]
        tier_report.ReportRequest(
            period_start=start, period_end=end, as_of=as_of, district_code=district
        ),
        today=day,
        now=utcnow(),
    )
    return stream_workbook(spool, f"梯度培育情况报表_{(as_of or day).isoformat()}.xlsx")
