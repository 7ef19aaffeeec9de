"""Commissioner use cases: the roster, slot assignments, suggestions, service records, needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from service.access import scope
from service.access.actor import Actor
from service.access.models import User
from service.audit import service as audit_service
from service.commissioners import plan
from service.commissioners.models import (
    OPEN_NEED_STATUSES,
    Assignment,
    Commissioner,
    CommissionerCluster,
    CommissionerDistrict,
    CommissionerSpecialty,
    Need,
    ServiceRecord,
)
from service.commissioners.schemas import (
    AcceptSuggestions,
    AssignmentPublic,
    BulkResult,
    CommissionerCreate,
    CommissionerPublic,
    CommissionerUpdate,
    EnterpriseSlots,
    NeedPublic,
    ServiceRecordCreate,
    ServiceRecordPublic,
    SlotPublic,
    SuggestionLine,
    SuggestionPlan,
    UnfilledSlot,
)
from service.enterprises import service as enterprise_service
from service.enterprises.models import Enterprise
from service.errors import FieldError, LedgerError, invalid, not_found
from service.reference.models import Cluster, ClusterDistrict, District, ServiceKind, Specialty

# ---- reference lookups ------------------------------------------------------------------------


def specialties(session: Session) -> dict[str, str]:
    """Specialty code → name, in display order."""
    rows = session.execute(
        sa.select(Specialty.code, Specialty.name).order_by(Specialty.sort_order, Specialty.code)
    )
    return dict(rows.all())


def service_kinds(session: Session) -> dict[str, str]:
    rows = session.execute(
        sa.select(ServiceKind.code, ServiceKind.name).order_by(
            ServiceKind.sort_order, ServiceKind.code
        )
    )
    return dict(rows.all())


def specialty_code(session: Session, text: str) -> str | None:
    """A specialty given by code or by name (`tech` or `科技`)."""
    for code, name in specialties(session).items():
        if text in (code, name):
            return code
    return None


def _unknown(
    field: str, code: str, what: str, values: Iterable[str], known: Iterable[str]
) -> list[FieldError]:
    known_set = set(known)
    return [FieldError(field, code, f"{what}“{v}”不存在", v) for v in values if v not in known_set]


# ---- roster -----------------------------------------------------------------------------------


def _values(session: Session, c: Commissioner) -> dict[str, Any]:
    cid = c.id or 0
    return {
        "name": c.name,
        "organisation": c.organisation,
        "phone": c.phone,
        "capacity": c.capacity,
        "active": c.active,
        "specialties": sorted(_codes(session, CommissionerSpecialty.specialty_code, cid)),
        "district_codes": sorted(_codes(session, CommissionerDistrict.district_code, cid)),
        "cluster_codes": sorted(_codes(session, CommissionerCluster.cluster_code, cid)),
        "user_id": linked_user_ids(session, [cid]).get(cid),
    }


def _codes(session: Session, column: Any, commissioner_id: int) -> list[str]:
    table = column.class_
    return list(session.scalars(sa.select(column).where(table.commissioner_id == commissioner_id)))


def linked_user_ids(session: Session, ids: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        sa.select(User.commissioner_id, User.id).where(User.commissioner_id.in_(ids))  # type: ignore[union-attr]
    )
    return {cid: uid for cid, uid in rows if cid is not None}


def _check_roster(
    session: Session,
    *,
    specialty_codes: Sequence[str] | None,
    district_codes: Sequence[str] | None,
    cluster_codes: Sequence[str] | None,
) -> None:
    errors: list[FieldError] = []
    if specialty_codes is not None:
        errors += _unknown(
            "specialties", "specialty.unknown", "专长", specialty_codes, specialties(session)
        )
    if district_codes is not None:
        known = session.scalars(sa.select(District.code).where(District.code.in_(district_codes)))  # type: ignore[attr-defined]
        errors += _unknown("district_codes", "district.unknown", "区县代码", district_codes, known)
    if cluster_codes is not None:
        known = session.scalars(sa.select(Cluster.code).where(Cluster.code.in_(cluster_codes)))  # type: ignore[attr-defined]
        errors += _unknown("cluster_codes", "cluster.unknown", "产业集群代码", cluster_codes, known)
    if errors:
        raise invalid(errors)


def _replace_links(
    session: Session, model: Any, column: str, cid: int, codes: Sequence[str]
) -> None:
    session.execute(sa.delete(model).where(model.commissioner_id == cid))
    for code in dict.fromkeys(codes):
        session.add(model(commissioner_id=cid, **{column: code}))


def _link_user(session: Session, commissioner: Commissioner, user_id: int | None) -> None:
    """Point exactly one account (or none) at this commissioner."""
    cid = commissioner.id or 0
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise invalid([FieldError("user_id", "user.unknown", "该用户不存在", user_id)])
        if user.role != "commissioner":
            raise invalid(
                [
                    FieldError(
                        "user_id", "user.not_commissioner", "只能关联角色为服务专员的账户", user_id
                    )
                ]
            )
        if user.commissioner_id not in (None, cid):
            raise LedgerError(
                "commissioner.user_linked",
                "该账户已关联其他专员",
                409,
                f"账户“{user.username}”已关联另一位服务专员，请先解除",
                [FieldError("user_id", "commissioner.user_linked", "已关联其他专员", user_id)],
            )
    for other in session.scalars(sa.select(User).where(User.commissioner_id == cid)):
        if other.id != user_id:
            other.commissioner_id = None
            session.add(other)
    if user_id is not None:
        user = session.get(User, user_id)
        assert user is not None
        user.commissioner_id = cid
        session.add(user)


def get_commissioner(session: Session, commissioner_id: int) -> Commissioner:
    found = session.get(Commissioner, commissioner_id)
    if found is None:
        raise not_found("服务专员", "commissioner.not_found")
    return found


def create_commissioner(session: Session, actor: Actor, data: CommissionerCreate) -> Commissioner:
    _check_roster(
        session,
        specialty_codes=data.specialties,
        district_codes=data.district_codes,
        cluster_codes=data.cluster_codes,
    )
    c = Commissioner(
        name=data.name,
        organisation=data.organisation,
        phone=data.phone,
        capacity=data.capacity,
        active=data.active,
    )
    session.add(c)
    session.flush()
    cid = c.id or 0
    _replace_links(session, CommissionerSpecialty, "specialty_code", cid, data.specialties)
    _replace_links(session, CommissionerDistrict, "district_code", cid, data.district_codes)
    _replace_links(session, CommissionerCluster, "cluster_code", cid, data.cluster_codes)
    _link_user(session, c, data.user_id)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="commissioner.create",
        entity="commissioner",
        entity_id=cid,
        entity_repr=c.name,
        after=_values(session, c),
    )
    return c


def update_commissioner(
    session: Session, actor: Actor, commissioner_id: int, data: CommissionerUpdate
) -> Commissioner:
    c = get_commissioner(session, commissioner_id)
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "specialties", "capacity", "active"):
        if required in changes and changes[required] is None:
            raise invalid([FieldError(required, "required", "不能为空", None)])
    _check_roster(
        session,
        specialty_codes=changes.get("specialties"),
        district_codes=changes.get("district_codes"),
        cluster_codes=changes.get("cluster_codes"),
    )
    before = _values(session, c)
    for field in ("name", "organisation", "phone", "capacity", "active"):
        if field in changes and changes[field] is not None:
            setattr(c, field, changes[field])
    cid = c.id or 0
    if changes.get("specialties") is not None:
        _replace_links(
            session, CommissionerSpecialty, "specialty_code", cid, changes["specialties"]
        )
    if changes.get("district_codes") is not None:
        _replace_links(
            session, CommissionerDistrict, "district_code", cid, changes["district_codes"]
        )
    if changes.get("cluster_codes") is not None:
        _replace_links(session, CommissionerCluster, "cluster_code", cid, changes["cluster_codes"])
    if "user_id" in changes:
        _link_user(session, c, changes["user_id"])
    session.add(c)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="commissioner.update",
        entity="commissioner",
        entity_id=cid,
        entity_repr=c.name,
        before=before,
        after=_values(session, c),
    )
    return c


def delete_commissioner(session: Session, actor: Actor, commissioner_id: int) -> None:
    """Only a commissioner with no history can go; anyone else is made inactive instead."""
    c = get_commissioner(session, commissioner_id)
    history = session.scalar(
        sa.select(sa.func.count()).select_from(Assignment).where(Assignment.commissioner_id == c.id)
    ) or session.scalar(
        sa.select(sa.func.count())
        .select_from(ServiceRecord)
        .where(ServiceRecord.commissioner_id == c.id)
    )
    if history:
        raise LedgerError(
            "commissioner.has_history",
            "该专员已有服务历史",
            409,
            f"“{c.name}”已有分配或服务记录，不能删除，请改为停用",
        )
    before = _values(session, c)
    _link_user(session, c, None)
    session.delete(c)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="commissioner.delete",
        entity="commissioner",
        entity_id=commissioner_id,
        entity_repr=before["name"],
        before=before,
    )


def covered_districts(session: Session, ids: Sequence[int]) -> dict[int, set[str]]:
    """Each commissioner's districts: those named directly and every key district of a cluster."""
    out: dict[int, set[str]] = {i: set() for i in ids}
    direct = sa.select(CommissionerDistrict.commissioner_id, CommissionerDistrict.district_code)
    via = sa.select(CommissionerCluster.commissioner_id, ClusterDistrict.district_code).join(
        ClusterDistrict, ClusterDistrict.cluster_code == CommissionerCluster.cluster_code
    )
    for stmt, table in ((direct, CommissionerDistrict), (via, CommissionerCluster)):
        for cid, code in session.execute(stmt.where(table.commissioner_id.in_(ids))):  # type: ignore[attr-defined]
            out.setdefault(cid, set()).add(code)
    return out


def carried(session: Session, ids: Sequence[int] | None = None) -> dict[int, set[int]]:
    """The enterprises each commissioner holds an active slot of (their load is its size)."""
    stmt = sa.select(Assignment.commissioner_id, Assignment.enterprise_id).where(
        Assignment.ended_on.is_(None)  # type: ignore[union-attr]
    )
    if ids is not None:
        stmt = stmt.where(Assignment.commissioner_id.in_(ids))  # type: ignore[attr-defined]
    out: dict[int, set[int]] = {i: set() for i in ids or ()}
    for cid, eid in session.execute(stmt):
        out.setdefault(cid, set()).add(eid)
    return out


def to_public(session: Session, rows: Sequence[Commissioner]) -> list[CommissionerPublic]:
    ids = [c.id or 0 for c in rows]
    if not ids:
        return []
    names = specialties(session)
    links: dict[str, dict[int, list[str]]] = {}
    for key, column in (
        ("specialties", CommissionerSpecialty.specialty_code),
        ("districts", CommissionerDistrict.district_code),
        ("clusters", CommissionerCluster.cluster_code),
    ):
        table = column.class_  # type: ignore[attr-defined]
        by: dict[int, list[str]] = {}
        for cid, code in session.execute(
            sa.select(table.commissioner_id, column).where(table.commissioner_id.in_(ids))
        ):
            by.setdefault(cid, []).append(code)
        links[key] = by
    order = {code: i for i, code in enumerate(names)}
    covered = covered_districts(session, ids)
    loads = carried(session, ids)
    users = linked_user_ids(session, ids)
    usernames = dict(
        session.execute(
            sa.select(User.id, User.username).where(User.id.in_(list(users.values())))  # type: ignore[union-attr]
        ).all()
    )
    out = []
    for c in rows:
        cid = c.id or 0
        specs = sorted(links["specialties"].get(cid, []), key=lambda s: order.get(s, 99))
        uid = users.get(cid)
        out.append(
            CommissionerPublic(
                id=cid,
                name=c.name,
                organisation=c.organisation,
                phone=c.phone,
                specialties=specs,
                specialty_names=[names.get(s, s) for s in specs],
                district_codes=sorted(links["districts"].get(cid, [])),
                cluster_codes=sorted(links["clusters"].get(cid, [])),
                covered_districts=sorted(covered.get(cid, set())),
                capacity=c.capacity,
                load=len(loads.get(cid, set())),
                active=c.active,
                user_id=uid,
                username=usernames.get(uid) if uid else None,
                created_at=c.created_at,
                updated_at=c.updated_at,
            )
        )
    return out


def list_commissioners(
    session: Session,
    *,
    specialty: str | None = None,
    district: str | None = None,
    active: bool | None = None,
) -> list[Commissioner]:
    stmt = sa.select(Commissioner).order_by(Commissioner.name, Commissioner.id)
    if active is not None:
        stmt = stmt.where(Commissioner.active.is_(active))  # type: ignore[attr-defined]
    if specialty:
        stmt = stmt.where(
            Commissioner.id.in_(  # type: ignore[union-attr]
                sa.select(CommissionerSpecialty.commissioner_id).where(
                    CommissionerSpecialty.specialty_code == specialty
                )
            )
        )
    rows = list(session.scalars(stmt))
    if district:
        covered = covered_districts(session, [c.id or 0 for c in rows])
        rows = [c for c in rows if district in covered.get(c.id or 0, set())]
    return rows


# ---- assignments ------------------------------------------------------------------------------


def _slot_taken(current_name: str, specialty_name: str) -> LedgerError:
    return LedgerError(
        "assignment.slot_taken",
        "该专长已有服务专员",
        409,
        f"该企业的{specialty_name}专员目前是“{current_name}”；如需更换，请选择更换",
    )


def _active_in_slot(session: Session, enterprise_id: int, specialty: str) -> Assignment | None:
    return session.scalar(
        sa.select(Assignment).where(
            Assignment.enterprise_id == enterprise_id,
            Assignment.specialty_code == specialty,
            Assignment.ended_on.is_(None),  # type: ignore[union-attr]
        )
    )


def _date_errors(
    field: str, day: date, today: date, not_before: date | None = None
) -> list[FieldError]:
    if day > today:
        return [FieldError(field, "date.future", "日期不能晚于今天", day)]
    if not_before is not None and day < not_before:
        return [FieldError(field, "date.too_early", f"日期不能早于{not_before.isoformat()}", day)]
    return []


def _lock_commissioner(session: Session, commissioner_id: int) -> Commissioner | None:
    # FOR UPDATE on PostgreSQL serialises capacity checks of one commissioner; SQLite's writers
    # are already serialised by BEGIN IMMEDIATE and ignore the clause.
    return session.scalar(
        sa.select(Commissioner).where(Commissioner.id == commissioner_id).with_for_update()
    )


def assign(
    session: Session,
    actor: Actor,
    *,
    enterprise: Enterprise,
    specialty_code: str,
    commissioner_id: int,
    started_on: date,
    today: date,
    replace: bool = False,
    reason: str = "",
    source: str = "manual",
) -> Assignment:
    """Put a commissioner in a slot; with `replace`, end the slot's current holder that day."""
    names = specialties(session)
    errors: list[FieldError] = []
    if specialty_code not in names:
        errors.append(
            FieldError(
                "specialty_code",
                "specialty.unknown",
                f"专长“{specialty_code}”不存在",
                specialty_code,
            )
        )
    c = _lock_commissioner(session, commissioner_id)
    if c is None:
        errors.append(
            FieldError(
                "commissioner_id", "commissioner.unknown", "该服务专员不存在", commissioner_id
            )
        )
    elif not c.active:
        errors.append(
            FieldError(
                "commissioner_id", "commissioner.inactive", f"“{c.name}”已停用", commissioner_id
            )
        )
    elif specialty_code in names and specialty_code not in _codes(
        session, CommissionerSpecialty.specialty_code, commissioner_id
    ):
        errors.append(
            FieldError(
                "commissioner_id",
                "commissioner.wrong_specialty",
                f"“{c.name}”不是{names[specialty_code]}专员",
                commissioner_id,
            )
        )
    errors += _date_errors("started_on", started_on, today)
    if errors:
        raise invalid(errors)
    assert c is not None
    eid = enterprise.id or 0
    current = _active_in_slot(session, eid, specialty_code)
    previous_name = None
    if current is not None:
        holder = session.get(Commissioner, current.commissioner_id)
        previous_name = holder.name if holder else str(current.commissioner_id)
        if current.commissioner_id == commissioner_id:
            raise LedgerError(
                "assignment.already_held",
                "该专员已在此岗位",
                409,
                f"“{c.name}”已是该企业的{names[specialty_code]}专员",
            )
        if not replace:
            raise _slot_taken(previous_name, names[specialty_code])
        if started_on < current.started_on:
            raise invalid(
                _date_errors("started_on", started_on, today, not_before=current.started_on)
            )
        current.ended_on = started_on
        current.end_reason = reason or "更换专员"
        session.add(current)
        session.flush()  # the slot is free before the new row claims it
    held = carried(session, [commissioner_id])[commissioner_id]
    if eid not in held and len(held) >= c.capacity:
        raise LedgerError(
            "commissioner.over_capacity",
            "服务专员已满负荷",
            409,
            f"“{c.name}”已服务{len(held)}家企业，达到容量{c.capacity}家",
        )
    row = Assignment(
        enterprise_id=eid,
        specialty_code=specialty_code,
        commissioner_id=commissioner_id,
        started_on=started_on,
        source="replace" if current is not None else source,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another transaction filled the slot after we looked: the partial unique index said no.
        raise _slot_taken("另一位专员", names[specialty_code]) from None
    audit_service.record(
        session,
        actor,
        action="assignment.replace" if current is not None else "assignment.assign",
        entity="assignment",
        entity_id=row.id,
        entity_repr=f"{enterprise.name}：{names[specialty_code]}",
        enterprise_id=eid,
        changes={
            "specialty": [None, specialty_code],
            "commissioner": [previous_name, c.name],
            "started_on": [None, started_on.isoformat()],
            **({"reason": [None, reason]} if reason else {}),
        },
        source=source,
    )
    return row


def end_assignment(
    session: Session,
    actor: Actor,
    *,
    enterprise: Enterprise,
    assignment_id: int,
    ended_on: date,
    reason: str,
    today: date,
) -> Assignment:
    row = session.get(Assignment, assignment_id)
    if row is None or row.enterprise_id != enterprise.id:
        raise not_found("分配记录", "assignment.not_found")
    if row.ended_on is not None:
        raise LedgerError(
            "assignment.already_ended",
            "该分配已结束",
            409,
            f"该分配已于{row.ended_on.isoformat()}结束",
        )
    errors = _date_errors("ended_on", ended_on, today, not_before=row.started_on)
    if errors:
        raise invalid(errors)
    row.ended_on = ended_on
    row.end_reason = reason
    session.add(row)
    session.flush()
    holder = session.get(Commissioner, row.commissioner_id)
    audit_service.record(
        session,
        actor,
        action="assignment.end",
        entity="assignment",
        entity_id=row.id,
        entity_repr=f"{enterprise.name}：{specialties(session).get(row.specialty_code, '')}",
        enterprise_id=enterprise.id,
        changes={
            "commissioner": [holder.name if holder else row.commissioner_id, None],
            "ended_on": [None, ended_on.isoformat()],
            **({"reason": [None, reason]} if reason else {}),
        },
    )
    return row


def assignments_public(session: Session, rows: Sequence[Assignment]) -> list[AssignmentPublic]:
    names = specialties(session)
    cids = {r.commissioner_id for r in rows}
    eids = {r.enterprise_id for r in rows}
    people = dict(
        session.execute(
            sa.select(Commissioner.id, Commissioner.name).where(Commissioner.id.in_(cids))  # type: ignore[union-attr]
        ).all()
    )
    firms = dict(
        session.execute(
            sa.select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(eids))  # type: ignore[union-attr]
        ).all()
    )
    return [
        AssignmentPublic(
            id=r.id or 0,
            enterprise_id=r.enterprise_id,
            enterprise_name=firms.get(r.enterprise_id, ""),
            specialty_code=r.specialty_code,
            specialty_name=names.get(r.specialty_code, r.specialty_code),
            commissioner_id=r.commissioner_id,
            commissioner_name=people.get(r.commissioner_id, ""),
            started_on=r.started_on,
            ended_on=r.ended_on,
            end_reason=r.end_reason,
            source=r.source,
            active=r.ended_on is None,
        )
        for r in rows
    ]


def slots(session: Session, enterprise: Enterprise) -> EnterpriseSlots:
    rows = list(
        session.scalars(
            sa.select(Assignment)
            .where(Assignment.enterprise_id == enterprise.id)
            .order_by(Assignment.started_on.desc(), Assignment.id.desc())  # type: ignore[union-attr]
        )
    )
    public = assignments_public(session, rows)
    current = {p.specialty_code: p for p in public if p.active}
    return EnterpriseSlots(
        enterprise_id=enterprise.id or 0,
        slots=[
            SlotPublic(specialty_code=code, specialty_name=name, current=current.get(code))
            for code, name in specialties(session).items()
        ],
        history=public,
    )


def bulk_assign(
    session: Session,
    actor: Actor,
    *,
    flt: enterprise_service.EnterpriseFilter,
    specialty_code: str,
    commissioner_id: int,
    started_on: date,
    replace: bool,
    today: date,
) -> BulkResult:
    """One commissioner into one slot of every enterprise a filter selects, all or nothing."""
    ids = enterprise_service.matching_ids(session, actor, flt, today)
    holders = (
        dict(
            session.execute(
                sa.select(Assignment.enterprise_id, Assignment.commissioner_id).where(
                    Assignment.specialty_code == specialty_code,
                    Assignment.ended_on.is_(None),  # type: ignore[union-attr]
                    Assignment.enterprise_id.in_(ids),  # type: ignore[attr-defined]
                )
            ).all()
        )
        if ids
        else {}
    )
    already = [i for i in ids if holders.get(i) == commissioner_id]
    taken = [i for i in ids if i in holders and holders[i] != commissioner_id and not replace]
    todo = [i for i in ids if i not in already and i not in taken]
    c = session.get(Commissioner, commissioner_id)
    if c is not None and todo:
        held = carried(session, [commissioner_id])[commissioner_id]
        new = len(set(todo) - held)
        if len(held) + new > c.capacity:
            raise LedgerError(
                "commissioner.over_capacity",
                "服务专员容量不足",
                409,
                f"“{c.name}”已服务{len(held)}家企业，再分配{new}家将超过容量{c.capacity}家",
            )
    for eid in todo:
        assign(
            session,
            actor,
            enterprise=enterprise_service.get_unscoped(session, eid),
            specialty_code=specialty_code,
            commissioner_id=commissioner_id,
            started_on=started_on,
            today=today,
            replace=replace,
            reason="批量分配",
            source="bulk",
        )
    return BulkResult(matched=len(ids), assigned=todo, already_held=already, skipped_taken=taken)


# ---- suggestions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    proposals: list[plan.Proposal]
    unfilled: list[plan.Unfilled]
    enterprises: dict[int, tuple[str, str]]  # id → (name, district)
    commissioners: dict[int, Commissioner]


def _plan(session: Session, actor: Actor, *, district: str | None, specialty: str | None) -> _Plan:
    stmt = (
        sa.select(Enterprise.id, Enterprise.name, Enterprise.district_code)
        .where(
            Enterprise.is_key.is_(True),  # type: ignore[attr-defined]
            Enterprise.status == "active",
            scope.enterprise_clause(actor),
        )
        .order_by(Enterprise.id)
    )
    if district:
        stmt = stmt.where(Enterprise.district_code == district)
    enterprises = {eid: (name, dc) for eid, name, dc in session.execute(stmt)}
    filled = {
        (eid, code)
        for eid, code in session.execute(
            sa.select(Assignment.enterprise_id, Assignment.specialty_code).where(
                Assignment.ended_on.is_(None)  # type: ignore[union-attr]
            )
        )
    }
    wanted = [s for s in specialties(session) if specialty in (None, s)]
    open_slots = [
        plan.OpenSlot(eid, dc, s)
        for eid, (_name, dc) in enterprises.items()
        for s in wanted
        if (eid, s) not in filled
    ]
    people = {
        c.id or 0: c
        for c in session.scalars(
            sa.select(Commissioner).where(Commissioner.active.is_(True))  # type: ignore[attr-defined]
        )
    }
    ids = list(people)
    spec_rows = session.execute(
        sa.select(
            CommissionerSpecialty.commissioner_id, CommissionerSpecialty.specialty_code
        ).where(
            CommissionerSpecialty.commissioner_id.in_(ids)  # type: ignore[attr-defined]
        )
    )
    specs: dict[int, set[str]] = {}
    for cid, code in spec_rows:
        specs.setdefault(cid, set()).add(code)
    covered = covered_districts(session, ids)
    loads = carried(session, ids)
    candidates = [
        plan.Candidate(
            commissioner_id=cid,
            specialties=frozenset(specs.get(cid, set())),
            districts=frozenset(covered.get(cid, set())),
            capacity=c.capacity,
            carrying=frozenset(loads.get(cid, set())),
        )
        for cid, c in people.items()
    ]
    proposals, unfilled = plan.suggest(open_slots, candidates)
    return _Plan(proposals, unfilled, enterprises, people)


def suggestions(
    session: Session, actor: Actor, *, district: str | None = None, specialty: str | None = None
) -> SuggestionPlan:
    """For empty slots of key enterprises: the least-loaded fitting commissioner, or why none."""
    p = _plan(session, actor, district=district, specialty=specialty)
    names = specialties(session)
    return SuggestionPlan(
        lines=[
            SuggestionLine(
                enterprise_id=x.enterprise_id,
                enterprise_name=p.enterprises[x.enterprise_id][0],
                district_code=p.enterprises[x.enterprise_id][1],
                specialty_code=x.specialty_code,
                commissioner_id=x.commissioner_id,
                commissioner_name=p.commissioners[x.commissioner_id].name,
                load_before=x.load_before,
                load_after=x.load_after,
                capacity=p.commissioners[x.commissioner_id].capacity,
            )
            for x in p.proposals
        ],
        unfilled=[
            UnfilledSlot(
                enterprise_id=u.enterprise_id,
                enterprise_name=p.enterprises[u.enterprise_id][0],
                district_code=p.enterprises[u.enterprise_id][1],
                specialty_code=u.specialty_code,
                reason=u.reason,  # type: ignore[arg-type]
                message=(
                    f"没有覆盖该区县的{names.get(u.specialty_code, '')}专员"
                    if u.reason == "no_commissioner"
                    else f"覆盖该区县的{names.get(u.specialty_code, '')}专员均已满负荷"
                ),
            )
            for u in p.unfilled
        ],
    )


def accept(
    session: Session, actor: Actor, data: AcceptSuggestions, *, today: date
) -> list[Assignment]:
    """Accept the whole proposal or chosen lines; one conflict and nothing is assigned."""
    if data.all:
        p = _plan(session, actor, district=data.district_code, specialty=data.specialty_code)
        lines = [(x.enterprise_id, x.specialty_code, x.commissioner_id) for x in p.proposals]
    else:
        lines = [(x.enterprise_id, x.specialty_code, x.commissioner_id) for x in data.lines]
    started_on = data.started_on or today
    out = []
    for eid, spec, cid in lines:
        enterprise = enterprise_service.get(session, actor, eid)
        out.append(
            assign(
                session,
                actor,
                enterprise=enterprise,
                specialty_code=spec,
                commissioner_id=cid,
                started_on=started_on,
                today=today,
                source="suggestion",
            )
        )
    return out


# ---- service records and needs ----------------------------------------------------------------

_NEXT: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "resolved", "cannot_resolve"}),
    "in_progress": frozenset({"resolved", "cannot_resolve"}),
    "resolved": frozenset(),
    "cannot_resolve": frozenset(),
}
NEED_STATUS_ZH = {
    "open": "待办",
    "in_progress": "办理中",
    "resolved": "已解决",
    "cannot_resolve": "无法解决",
}


def held_on(day: date) -> ColumnElement[bool]:
    """Assignments holding their slot on `day` (the day one ends on included)."""
    return sa.and_(
        Assignment.started_on <= day,  # type: ignore[arg-type]
        sa.or_(Assignment.ended_on.is_(None), Assignment.ended_on >= day),  # type: ignore[union-attr, operator]
    )


def _assigned_on(session: Session, enterprise_id: int, commissioner_id: int, day: date) -> bool:
    return (
        session.scalar(
            sa.select(Assignment.id)
            .where(
                Assignment.enterprise_id == enterprise_id,
                Assignment.commissioner_id == commissioner_id,
                held_on(day),
            )
            .limit(1)
        )
        is not None
    )


def slot_holders(
    session: Session, enterprise_ids: Sequence[int], day: date
) -> dict[int, dict[str, str]]:
    """{enterprise id: {specialty code: commissioner name}} on `day`, for a ledger's rows."""
    held: dict[int, dict[str, str]] = {}
    for start in range(0, len(enterprise_ids), 900):  # within SQLite's bound-parameter limit
        chunk = enterprise_ids[start : start + 900]
        for enterprise_id, specialty, name in session.execute(
            sa.select(Assignment.enterprise_id, Assignment.specialty_code, Commissioner.name)
            .join(Commissioner, Commissioner.id == Assignment.commissioner_id)
            .where(Assignment.enterprise_id.in_(chunk), held_on(day))  # type: ignore[attr-defined]
        ):
            held.setdefault(enterprise_id, {})[specialty] = name
    return held


def add_record(
    session: Session,
    actor: Actor,
    *,
    enterprise: Enterprise,
    data: ServiceRecordCreate,
    today: date,
) -> ServiceRecord:
    """A service given to an enterprise, with the needs it raised; the commissioner must hold
    a slot of that enterprise on the day (a commissioner can only reach their own already)."""
    if actor.role == "commissioner":
        if data.commissioner_id not in (None, actor.commissioner_id):
            raise LedgerError(
                "access.forbidden", "无权代他人登记", 403, "服务专员只能登记本人的服务记录"
            )
        commissioner_id = actor.commissioner_id
    else:
        commissioner_id = data.commissioner_id
    kinds = service_kinds(session)
    errors: list[FieldError] = []
    if commissioner_id is None:
        errors.append(FieldError("commissioner_id", "required", "请指定服务专员", None))
    elif session.get(Commissioner, commissioner_id) is None:
        errors.append(
            FieldError(
                "commissioner_id", "commissioner.unknown", "该服务专员不存在", commissioner_id
            )
        )
    elif not _assigned_on(session, enterprise.id or 0, commissioner_id, data.served_on):
        errors.append(
            FieldError(
                "commissioner_id",
                "service.not_assigned",
                "该专员在服务日期未被分配服务此企业",
                commissioner_id,
            )
        )
    errors += _date_errors("served_on", data.served_on, today)
    if data.kind_code not in kinds:
        errors.append(
            FieldError(
                "kind_code",
                "service_kind.unknown",
                f"服务类型“{data.kind_code}”不存在",
                data.kind_code,
            )
        )
    for i, need in enumerate(data.needs):
        if need.kind_code is not None and need.kind_code not in kinds:
            errors.append(
                FieldError(
                    f"needs.{i}.kind_code",
                    "service_kind.unknown",
                    f"服务类型“{need.kind_code}”不存在",
                    need.kind_code,
                )
            )
        if need.due_on is not None and need.due_on < data.served_on:
            errors.append(
                FieldError(
                    f"needs.{i}.due_on", "date.too_early", "办结期限不能早于服务日期", need.due_on
                )
            )
    if errors:
        raise invalid(errors)
    assert commissioner_id is not None
    record = ServiceRecord(
        enterprise_id=enterprise.id or 0,
        commissioner_id=commissioner_id,
        kind_code=data.kind_code,
        served_on=data.served_on,
        summary=data.summary,
        financing_sought=data.financing_sought,
        financing_obtained=data.financing_obtained,
        attachments=list(data.attachments),
    )
    session.add(record)
    session.flush()
    for need in data.needs:
        session.add(
            Need(
                service_record_id=record.id or 0,
                enterprise_id=enterprise.id or 0,
                kind_code=need.kind_code or data.kind_code,
                description=need.description,
                raised_on=data.served_on,
                due_on=need.due_on,
            )
        )
    session.flush()
    audit_service.record(
        session,
        actor,
        action="service.add",
        entity="service_record",
        entity_id=record.id,
        entity_repr=f"{enterprise.name}：{kinds[data.kind_code]}",
        enterprise_id=enterprise.id,
        after={
            "commissioner_id": commissioner_id,
            "kind_code": data.kind_code,
            "served_on": data.served_on,
            "summary": data.summary,
            "financing_sought": data.financing_sought,
            "financing_obtained": data.financing_obtained,
            "attachments": list(data.attachments),
            "needs": [n.description for n in data.needs],
        },
    )
    return record


def change_need(
    session: Session,
    actor: Actor,
    *,
    enterprise: Enterprise,
    need_id: int,
    status: str,
    note: str,
    on: date,
    today: date,
) -> Need:
    need = session.get(Need, need_id)
    if need is None or need.enterprise_id != enterprise.id:
        raise not_found("诉求", "need.not_found")
    if status not in _NEXT[need.status]:
        raise LedgerError(
            "need.transition",
            "诉求状态不能这样变更",
            409,
            f"诉求当前为“{NEED_STATUS_ZH[need.status]}”，不能改为“{NEED_STATUS_ZH[status]}”",
        )
    errors = _date_errors("on", on, today, not_before=need.raised_on)
    if errors:
        raise invalid(errors)
    before = {"status": need.status, "closed_on": need.closed_on, "resolution": need.resolution}
    need.status = status
    if status in ("resolved", "cannot_resolve"):
        need.closed_on = on
    if note:
        need.resolution = note
    session.add(need)
    session.flush()
    audit_service.record(
        session,
        actor,
        action="need.status",
        entity="service_need",
        entity_id=need.id,
        entity_repr=f"{enterprise.name}：{need.description[:60]}",
        enterprise_id=enterprise.id,
        before=before,
        after={"status": need.status, "closed_on": need.closed_on, "resolution": need.resolution},
    )
    return need


def need_public(need: Need, today: date) -> NeedPublic:
    return NeedPublic(
        id=need.id or 0,
        service_record_id=need.service_record_id,
        enterprise_id=need.enterprise_id,
        kind_code=need.kind_code,
        description=need.description,
        status=need.status,  # type: ignore[arg-type]
        raised_on=need.raised_on,
        due_on=need.due_on,
        closed_on=need.closed_on,
        resolution=need.resolution,
        overdue=need.status in OPEN_NEED_STATUSES
        and need.due_on is not None
        and need.due_on < today,
    )


def records_public(
    session: Session, rows: Sequence[ServiceRecord], today: date
) -> list[ServiceRecordPublic]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    needs: dict[int, list[Need]] = {}
    for n in session.scalars(
        sa.select(Need).where(Need.service_record_id.in_(ids)).order_by(Need.id)  # type: ignore[attr-defined]
    ):
        needs.setdefault(n.service_record_id, []).append(n)
    kinds = service_kinds(session)
    people = dict(
        session.execute(
            sa.select(Commissioner.id, Commissioner.name).where(
                Commissioner.id.in_({r.commissioner_id for r in rows})  # type: ignore[union-attr]
            )
        ).all()
    )
    firms = dict(
        session.execute(
            sa.select(Enterprise.id, Enterprise.name).where(
                Enterprise.id.in_({r.enterprise_id for r in rows})  # type: ignore[union-attr]
            )
        ).all()
    )
    return [
        ServiceRecordPublic(
            id=r.id or 0,
            enterprise_id=r.enterprise_id,
            enterprise_name=firms.get(r.enterprise_id, ""),
            commissioner_id=r.commissioner_id,
            commissioner_name=people.get(r.commissioner_id, ""),
            kind_code=r.kind_code,
            kind_name=kinds.get(r.kind_code, r.kind_code),
            served_on=r.served_on,
            summary=r.summary,
            financing_sought=r.financing_sought,
            financing_obtained=r.financing_obtained,
            attachments=list(r.attachments),
            needs=[need_public(n, today) for n in needs.get(r.id or 0, [])],
            created_at=r.created_at,
        )
        for r in rows
    ]


def list_records(
    session: Session,
    actor: Actor,
    *,
    enterprise_id: int | None = None,
    commissioner_id: int | None = None,
    kind_code: str | None = None,
    since: date | None = None,
    until: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[ServiceRecord], int]:
    """Service records of enterprises in the actor's scope, newest first."""
    stmt = (
        sa.select(ServiceRecord)
        .join(Enterprise, Enterprise.id == ServiceRecord.enterprise_id)
        .where(scope.enterprise_clause(actor))
    )
    if enterprise_id is not None:
        stmt = stmt.where(ServiceRecord.enterprise_id == enterprise_id)
    if commissioner_id is not None:
        stmt = stmt.where(ServiceRecord.commissioner_id == commissioner_id)
    if kind_code:
        stmt = stmt.where(ServiceRecord.kind_code == kind_code)
    if since:
        stmt = stmt.where(ServiceRecord.served_on >= since)
    if until:
        stmt = stmt.where(ServiceRecord.served_on <= until)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(ServiceRecord.served_on.desc(), ServiceRecord.id.desc())  # type: ignore[attr-defined]
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), total
