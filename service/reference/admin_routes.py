"""HTTP edge for admins' corrections to reference data."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from service.access.deps import CanWriteReference
from service.db import SessionDep
from service.inputs import Input
from service.reference import admin
from service.reference.schemas import DistrictPublic, SubsectorNodePublic, TargetPublic, TierPublic

router = APIRouter(prefix="/api/v1/reference", tags=["基础数据"])

Name = Annotated[str, Field(min_length=1, max_length=60)]
Aliases = Annotated[list[Annotated[str, Field(max_length=60)]], Field(max_length=30)]


class Rename(Input):
    name: Name | None = None
    aliases: Aliases | None = None


class TierCreate(Input):
    code: Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
    name: Name
    rank: Annotated[int, Field(ge=1, le=1000)]
    validity_years: Annotated[int, Field(ge=1, le=20)] | None = None
    designated_by: Annotated[str, Field(max_length=60)] = ""
    aliases: Aliases = []


class TierUpdate(Input):
    name: Name | None = None
    rank: Annotated[int, Field(ge=1, le=1000)] | None = None
    validity_years: Annotated[int, Field(ge=1, le=20)] | None = None
    designated_by: Annotated[str, Field(max_length=60)] | None = None
    aliases: Aliases | None = None
    active: bool | None = None


class TargetUpdate(Input):
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    figure: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4)] | None = None
    year: Annotated[int, Field(ge=2020, le=2100)] | None = None
    source: Annotated[str, Field(max_length=200)] | None = None


@router.patch("/districts/{code}", response_model=DistrictPublic, summary="修改区县名称或别名")
def update_district(
    session: SessionDep, actor: CanWriteReference, code: str, body: Rename
) -> DistrictPublic:
    row = admin.update_district(session, actor, code, name=body.name, aliases=body.aliases)
    return DistrictPublic.model_validate(row, from_attributes=True)


@router.patch(
    "/taxonomy/{code}", response_model=SubsectorNodePublic, summary="修改细分领域名称或别名"
)
def update_subsector(
    session: SessionDep, actor: CanWriteReference, code: str, body: Rename
) -> SubsectorNodePublic:
    row = admin.update_subsector(session, actor, code, name=body.name, aliases=body.aliases)
    return SubsectorNodePublic(code=row.code, name=row.name, level=row.level, aliases=row.aliases)


@router.post("/tiers", response_model=TierPublic, status_code=201, summary="新增梯度层级")
def add_tier(session: SessionDep, actor: CanWriteReference, body: TierCreate) -> TierPublic:
    return TierPublic.model_validate(
        admin.add_tier(session, actor, **body.model_dump()), from_attributes=True
    )


@router.patch("/tiers/{code}", response_model=TierPublic, summary="修改梯度层级")
def update_tier(
    session: SessionDep, actor: CanWriteReference, code: str, body: TierUpdate
) -> TierPublic:
    row = admin.update_tier(session, actor, code, **body.model_dump(exclude_unset=True))
    return TierPublic.model_validate(row, from_attributes=True)


@router.patch("/targets/{code}", response_model=TargetPublic, summary="修改目标任务")
def update_target(
    session: SessionDep, actor: CanWriteReference, code: str, body: TargetUpdate
) -> TargetPublic:
    row = admin.update_target(session, actor, code, **body.model_dump(exclude_unset=True))
    return TargetPublic.model_validate(row, from_attributes=True)
