"""API shapes for reference data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class DistrictPublic(BaseModel):
    code: str
    name: str
    kind: str
    aliases: list[str]


class SubsectorNodePublic(BaseModel):
    code: str
    name: str
    level: int
    aliases: list[str]
    children: list[SubsectorNodePublic] = []


class TierPublic(BaseModel):
    code: str
    name: str
    rank: int
    validity_years: int | None
    designated_by: str
    aliases: list[str]
    active: bool


class ClusterPublic(BaseModel):
    code: str
    name: str
    district_codes: list[str]


class TargetPublic(BaseModel):
    code: str
    name: str
    metric: str
    params: dict[str, Any]
    kind: str
    figure: Decimal
    unit: str
    year: int
    source: str


class CodeName(BaseModel):
    code: str
    name: str
