"""Subsector ledgers: scoped enterprises streamed into `exports.ledger`, a sheet per subsector."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO

import sqlalchemy as sa
from sqlmodel import Session

from exports.ledger import LedgerMeta, LedgerRow, LedgerSheet, write_ledger, write_ledger_zip
from service.access import scope
from service.access.actor import Actor
from service.audit import service as audit_service
from service.clock import CHINA
from service.commissioners import service as commissioner_service
from service.enterprises.models import AnnualFigures, Enterprise
from service.errors import FieldError, invalid
from service.ladder import service as ladder_service
from service.ladder.models import Designation
from service.reference.models import ChainPosition, District, Tier
from service.reference.service import Taxonomy, taxonomy


@dataclass(frozen=True)
class LedgerRequest:
    subsectors: Sequence[str] = ()  # codes or names at any level; empty: all
    district_code: str | None = None
    tier_code: str | None = None
    key_only: bool = False
    status: str | None = "active"
    as_of: date | None = None
    data_year: int | None = None


def filename(as_of: date, *, as_zip: bool = False) -> str:
    return f"重庆市优质中小企业梯度培育台账_{as_of.isoformat()}.{'zip' if as_zip else 'xlsx'}"


def resolve_subsectors(tree: Taxonomy, wanted: Sequence[str]) -> list[str]:
    """Leaf codes, in taxonomy order, for codes or names at any level."""
    if not wanted:
        return [c for c, n in tree.nodes.items() if n.level == 3]
    by_name = {n.name: c for c, n in tree.nodes.items()}
    for c, n in tree.nodes.items():
        for alias in n.aliases:
            by_name.setdefault(alias, c)
    leaves: list[str] = []
    errors = []
    for item in wanted:
        code = item if item in tree.nodes else by_name.get(item.strip())
        if code is None:
            errors.append(
                FieldError("subsector", "subsector.unknown", f"细分领域“{item}”不存在", item)
            )
            continue
        leaves += [c for c in tree.leaves(code) if c not in leaves]
    if errors:
        raise invalid(errors)
    order = list(tree.nodes)
    return sorted(leaves, key=order.index)


def _rows(
    session: Session,
    actor: Actor,
    code: str,
    req: LedgerRequest,
    as_of: date,
    year: int,
    names: dict[str, dict[str, str]],
) -> Iterator[LedgerRow]:
    current = ladder_service.current_rank_subquery(as_of)
    stmt = (
        sa.select(Enterprise, current.c.rank, AnnualFigures)
        .outerjoin(current, current.c.enterprise_id == Enterprise.id)
        .outerjoin(
            AnnualFigures,
            sa.and_(AnnualFigures.enterprise_id == Enterprise.id, AnnualFigures.year == year),
        )
        .where(Enterprise.subsector_code == code, scope.enterprise_clause(actor))
        .order_by(Enterprise.district_code, Enterprise.name, Enterprise.id)
    )
    if req.district_code:
        stmt = stmt.where(Enterprise.district_code == req.district_code)
    if req.key_only:
        stmt = stmt.where(Enterprise.is_key.is_(True))  # type: ignore[attr-defined]
    if req.status:
        stmt = stmt.where(Enterprise.status == req.status)
    tiers_by_rank = {t.rank: t for t in session.scalars(sa.select(Tier))}
    if req.tier_code:
        rank = next((t.rank for t in tiers_by_rank.values() if t.code == req.tier_code), None)
        stmt = stmt.where(current.c.rank == rank)
    rows = session.execute(stmt).all()
    # The designation behind each current tier, fetched once per sheet.
    ids = [e.id for e, rank, _ in rows if rank is not None]
    designation: dict[tuple[int, str], Designation] = {}
    for start in range(0, len(ids), 900):
        for d in session.scalars(
            sa.select(Designation)
            .where(
                Designation.enterprise_id.in_(ids[start : start + 900]),
                ladder_service.valid_clause(as_of),
            )  # type: ignore[attr-defined]
            .order_by(Designation.designated_on)
        ):
            designation[(d.enterprise_id, d.tier_code)] = d
    slots = commissioner_service.slot_holders(session, [e.id for e, _, _ in rows], as_of)
    for e, rank, fig in rows:
        tier = tiers_by_rank.get(rank) if rank is not None else None
        d = designation.get((e.id or 0, tier.code)) if tier else None
        held = slots.get(e.id or 0, {})
        yield LedgerRow(
            name=e.name,
            credit_code=e.credit_code,
            district=names["district"].get(e.district_code, e.district_code),
            subsector=names["subsector"].get(e.subsector_code, e.subsector_code),
            chain_position=names["chain"].get(e.chain_position or "", None),
            main_products=e.main_products or None,
            tier=tier.name if tier else None,
            batch=d.batch or None if d else None,
            designated_on=d.designated_on if d else None,
            valid_until=d.valid_until if d else None,
            is_key=e.is_key,
            revenue=fig.operating_revenue if fig else None,
            rd_expense=fig.rd_expense if fig else None,
            employees=fig.employees if fig else None,
            contact_name=e.contact_person or None,
            contact_phone=e.contact_phone or None,
            commissioner_tech=held.get("tech"),
            commissioner_finance=held.get("finance"),
            commissioner_legal=held.get("legal"),
            commissioner_media=held.get("media"),
        )


def export_ledger(
    session: Session,
    actor: Actor,
    out: BinaryIO | str,
    req: LedgerRequest,
    *,
    today: date,
    now: datetime,
    as_zip: bool = False,
) -> int:
    """Write the ledger workbook (or a zip of one workbook per subsector); returns how many
    subsectors it holds."""
    tree = taxonomy(session)
    leaves = resolve_subsectors(tree, req.subsectors)
    as_of = req.as_of or today
    year = req.data_year or as_of.year - 1
    names = {
        "district": dict(session.execute(sa.select(District.code, District.name)).all()),
        "subsector": {c: n.name for c, n in tree.nodes.items()},
        "chain": dict(session.execute(sa.select(ChainPosition.code, ChainPosition.name)).all()),
    }
    scope_parts = [scope.scope_label(actor, names["district"], req.district_code)]
    if req.key_only:
        scope_parts.append("重点企业")
    meta = LedgerMeta(
        scope_zh="、".join(p for p in scope_parts if p),
        as_of=as_of,
        exported_at=now.astimezone(CHINA),  # shown as given: the reader's clock
        data_year=year,
        tiers=[t.name for t in session.scalars(sa.select(Tier).order_by(Tier.rank))],
    )
    sheets = (
        LedgerSheet(
            code, tree.nodes[code].name, _rows(session, actor, code, req, as_of, year, names)
        )
        for code in leaves
    )
    (write_ledger_zip if as_zip else write_ledger)(out, sheets, meta)
    audit_service.record(
        session,
        actor,
        action="export.ledger",
        entity="ledger",
        entity_repr=f"台账导出（{len(leaves)}个细分领域）",
        changes={
            "subsectors": [None, list(req.subsectors)],
            "district": [None, req.district_code],
            "tier": [None, req.tier_code],
            "as_of": [None, as_of.isoformat()],
        },
    )
    return len(leaves)
