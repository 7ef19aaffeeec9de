"""Reference data: loading the shipped set, reading it, and the vocabulary importers need."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, SQLModel

from importers import vocab
from service.errors import FieldError
from service.reference.models import (
    ChainPosition,
    Cluster,
    ClusterDistrict,
    District,
    ServiceKind,
    Specialty,
    SubsectorNode,
    Target,
    Tier,
)


@cache
def shipped() -> dict[str, Any]:
    """The reference data file inside the package (users have no spec folder)."""
    text = resources.files("service.reference").joinpath("data/reference.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _rows(data: dict[str, Any]) -> list[tuple[type[SQLModel], tuple[str, ...], dict[str, Any]]]:
    """Every shipped row as (model, primary key, values), parents before children."""
    out: list[tuple[type[SQLModel], tuple[str, ...], dict[str, Any]]] = []
    for d in data["districts"]:
        out.append((District, (d["code"],), d))
    for t in data["taxonomy"]:
        values = {k: v for k, v in t.items() if k != "parent"} | {"parent_code": t["parent"]}
        out.append((SubsectorNode, (t["code"],), values))
    for c in data["clusters"]:
        out.append((Cluster, (c["code"],), {k: v for k, v in c.items() if k != "districts"}))
        for dc in c["districts"]:
            out.append(
                (ClusterDistrict, (c["code"], dc), {"cluster_code": c["code"], "district_code": dc})
            )
    for t in data["tiers"]:
        out.append((Tier, (t["code"],), t | {"active": True}))
    for i, t in enumerate(data["targets"]):
        since = t["params"].get("since")
        values = t | {
            "figure": Decimal(t["figure"]),
            "since_on": date.fromisoformat(since) if since else None,
            "sort_order": i + 1,
        }
        out.append((Target, (t["code"],), values))
    for model, key in (
        (ChainPosition, "chain_positions"),
        (Specialty, "specialties"),
        (ServiceKind, "service_kinds"),
    ):
        for i, item in enumerate(data[key]):
            out.append((model, (item["code"],), item | {"sort_order": i + 1}))
    return out


def load(session: Session) -> int:
    """Add every shipped row that is missing; never touch one that exists (admins rename)."""
    added = 0
    for model, key, values in _rows(shipped()):
        if session.get(model, key if len(key) > 1 else key[0]) is not None:
            continue
        session.add(model(**values))
        added += 1
        # Flush per model so children see their parents under foreign keys.
        session.flush()
    return added


def unknown_district(
    session: Session, code: str, field: str = "district_code"
) -> FieldError | None:
    """The one check that a district code exists, phrased for the person who typed it."""
    if session.get(District, code) is not None:
        return None
    return FieldError(field, "district.unknown", f"区县代码“{code}”不存在", code)


# ---- reading -------------------------------------------------------------------------------


def districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.sort_order, District.code)))


def tiers(session: Session, *, active_only: bool = False) -> list[Tier]:
    stmt = select(Tier).order_by(Tier.rank)
    if active_only:
        stmt = stmt.where(Tier.active.is_(True))  # type: ignore[attr-defined]
    return list(session.scalars(stmt))


def subsectors(session: Session) -> list[SubsectorNode]:
    return list(
        session.scalars(
            select(SubsectorNode).order_by(SubsectorNode.sort_order, SubsectorNode.code)
        )
    )


def clusters(session: Session) -> list[tuple[Cluster, list[str]]]:
    links = session.execute(select(ClusterDistrict.cluster_code, ClusterDistrict.district_code))
    by_cluster: dict[str, list[str]] = {}
    for cc, dc in links:
        by_cluster.setdefault(cc, []).append(dc)
    rows = session.scalars(select(Cluster).order_by(Cluster.sort_order, Cluster.code))
    return [(c, sorted(by_cluster.get(c.code, []))) for c in rows]


def targets(session: Session) -> list[Target]:
    return list(session.scalars(select(Target).order_by(Target.sort_order, Target.code)))


def chain_positions(session: Session) -> list[ChainPosition]:
    return list(session.scalars(select(ChainPosition).order_by(ChainPosition.sort_order)))


@dataclass(frozen=True)
class Taxonomy:
    """The tree in memory: it is small (≈75 nodes), so descendants are computed here."""

    nodes: dict[str, SubsectorNode]
    children: dict[str, list[str]]

    def descendants(self, code: str) -> list[str]:
        """The node and everything below it."""
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            out.append(c)
            stack.extend(self.children.get(c, []))
        return out

    def leaves(self, code: str) -> list[str]:
        return [c for c in self.descendants(code) if not self.children.get(c)]


def taxonomy(session: Session) -> Taxonomy:
    nodes = {n.code: n for n in subsectors(session)}
    children: dict[str, list[str]] = {}
    for n in nodes.values():
        if n.parent_code:
            children.setdefault(n.parent_code, []).append(n.code)
    return Taxonomy(nodes, children)


# ---- the importers' vocabulary -------------------------------------------------------------

# Credit codes of a zone's enterprises carry a host district's division code (REFERENCE.md).
ZONE_DIVISIONS: dict[str, tuple[str, ...]] = {"Z003": ("500110",)}
_DISTRICT_SUFFIXES = ("土家族苗族自治县", "苗族土家族自治县", "土家族自治县", "区", "县")


def vocabulary(session: Session) -> vocab.Vocabulary:
    """Reference data as the plain `importers.vocab.Vocabulary` the roster reader takes:
    districts with their aliases and suffix-less names, leaf subsectors, tiers, chain positions."""
    from service.enterprises import credit_code  # enterprises imports this module

    out_districts = []
    for d in districts(session):
        aliases = list(d.aliases)
        for suffix in _DISTRICT_SUFFIXES:
            short = d.name.removesuffix(suffix)
            # "忠县" without 县 is one character: too short to be a name anyone writes alone.
            if short != d.name and len(short) >= 2 and short not in aliases:
                aliases.append(short)
                break
        out_districts.append(
            vocab.District(
                code=d.code,
                name=d.name,
                aliases=tuple(aliases),
                kind=d.kind,
                divisions=ZONE_DIVISIONS.get(d.code, ()),
            )
        )
    tree = taxonomy(session)
    leaves = [
        vocab.Subsector(
            code=n.code,
            name=n.name,
            aliases=tuple(n.aliases),
            industry=tree.nodes[n.parent_code].name if n.parent_code in tree.nodes else "",
        )
        for n in tree.nodes.values()
        if n.level == 3
    ]
    return vocab.Vocabulary(
        districts=tuple(out_districts),
        subsectors=tuple(leaves),
        tiers=tuple(
            vocab.Tier(code=t.code, name=t.name, rank=t.rank, aliases=tuple(t.aliases))
            for t in tiers(session, active_only=True)
        ),
        chain_positions=tuple(
            # Rosters name the position by its first two characters as often as in full.
            vocab.ChainPosition(code=p.code, name=p.name, aliases=(p.name[:2],))
            for p in chain_positions(session)
        ),
        check_code=credit_code.check,
    )
