"""The shipped reference data loads once, completely, and never overwrites an admin's edits."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from service.reference import service
from service.reference.models import District, SubsectorNode, Tier


def test_loading_again_changes_nothing(session: Session) -> None:
    assert service.load(session) == 0


def test_an_admin_rename_survives_a_reload(session: Session) -> None:
    district = session.get(District, "500104")
    assert district is not None
    district.name = "大渡口区（改）"
    session.flush()
    assert service.load(session) == 0
    session.expire_all()
    assert session.get(District, "500104").name == "大渡口区（改）"  # type: ignore[union-attr]


def test_everything_in_reference_md_is_there(session: Session) -> None:
    assert session.scalar(sa.select(sa.func.count()).select_from(District)) == 41
    kinds = dict(
        session.execute(sa.select(District.kind, sa.func.count()).group_by(District.kind)).all()
    )
    assert kinds == {"district": 26, "county": 12, "zone": 3}
    levels = dict(
        session.execute(
            sa.select(SubsectorNode.level, sa.func.count()).group_by(SubsectorNode.level)
        ).all()
    )
    assert levels == {1: 3, 2: 11, 3: 61}
    tiers = [t.code for t in session.scalars(sa.select(Tier).order_by(Tier.rank))]
    assert tiers == [
        "innovative_sme",
        "specialized_sme",
        "little_giant",
        "single_champion",
        "listed",
    ]


def test_taxonomy_descendants(session: Session) -> None:
    tree = service.taxonomy(session)
    assert tree.descendants("A4.01") == ["A4.01"]
    assert set(tree.leaves("A4")) == {f"A4.{i:02d}" for i in range(1, 11)}
    assert len(tree.leaves("B")) == 26
