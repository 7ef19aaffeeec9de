"""HTTP edge for reference data (read by every signed-in user)."""

from __future__ import annotations

from fastapi import APIRouter

from service.access.deps import CanReadReference
from service.db import SessionDep
from service.reference import service
from service.reference.schemas import (
    ClusterPublic,
    CodeName,
    DistrictPublic,
    SubsectorNodePublic,
    TargetPublic,
    TierPublic,
)

router = APIRouter(prefix="/api/v1/reference", tags=["基础数据"])


@router.get("/districts", response_model=list[DistrictPublic], summary="区县")
def districts(session: SessionDep, _actor: CanReadReference) -> list[DistrictPublic]:
    return [
        DistrictPublic.model_validate(d, from_attributes=True) for d in service.districts(session)
    ]


@router.get("/taxonomy", response_model=list[SubsectorNodePublic], summary="细分领域分类树")
def taxonomy(session: SessionDep, _actor: CanReadReference) -> list[SubsectorNodePublic]:
    tree = service.taxonomy(session)

    def build(code: str) -> SubsectorNodePublic:
        n = tree.nodes[code]
        return SubsectorNodePublic(
            code=n.code,
            name=n.name,
            level=n.level,
            aliases=n.aliases,
            children=[build(c) for c in tree.children.get(code, [])],
        )

    return [build(c) for c, n in tree.nodes.items() if n.parent_code is None]


@router.get("/tiers", response_model=list[TierPublic], summary="梯度层级")
def tiers(session: SessionDep, _actor: CanReadReference) -> list[TierPublic]:
    return [TierPublic.model_validate(t, from_attributes=True) for t in service.tiers(session)]


@router.get("/clusters", response_model=list[ClusterPublic], summary="产业集群")
def clusters(session: SessionDep, _actor: CanReadReference) -> list[ClusterPublic]:
    return [
        ClusterPublic(code=c.code, name=c.name, district_codes=ds)
        for c, ds in service.clusters(session)
    ]


@router.get("/targets", response_model=list[TargetPublic], summary="目标任务")
def targets(session: SessionDep, _actor: CanReadReference) -> list[TargetPublic]:
    return [TargetPublic.model_validate(t, from_attributes=True) for t in service.targets(session)]


@router.get("/chain-positions", response_model=list[CodeName], summary="产业链环节")
def chain_positions(session: SessionDep, _actor: CanReadReference) -> list[CodeName]:
    return [CodeName(code=c.code, name=c.name) for c in service.chain_positions(session)]
