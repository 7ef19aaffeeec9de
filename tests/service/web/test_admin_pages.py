"""Admin pages for reference data: list, edit with field errors, audited, admins only."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.audit.models import AuditEvent
from service.reference.models import District, Tier
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, csrf_of, login


def test_admin_edits_a_district_and_a_tier(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "ref_admin", role="admin")
    client = site()
    login(client, "ref_admin")
    listing = client.get("/admin/reference")
    assert listing.status_code == 200
    assert not problems(listing.text), problems(listing.text)
    form = client.get("/admin/reference/districts/500241")
    assert form.status_code == 200
    assert not problems(form.text), problems(form.text)
    saved = client.post(
        "/admin/reference/districts/500241",
        data={
            "csrf_token": csrf_of(form.text),
            "name": "秀山土家族苗族自治县",
            "aliases": "秀山县、秀山",
        },
    )
    assert saved.status_code == 303
    district = session.get(District, "500241")
    assert district is not None
    assert district.aliases == ["秀山县", "秀山"]
    tier_form = client.get("/admin/reference/tiers/little_giant")
    bad = client.post(
        "/admin/reference/tiers/little_giant",
        data={
            "csrf_token": csrf_of(tier_form.text),
            "name": "专精特新“小巨人”企业",
            "rank": "10",
            "active": "on",
        },
    )
    assert bad.status_code == 422
    assert 'id="rank-error"' in bad.text
    assert not problems(bad.text), problems(bad.text)
    tier = session.get(Tier, "little_giant")
    assert tier is not None
    assert tier.rank == 30
    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "district.update")
    ).all()
    assert len(events) == 1


def test_reference_pages_are_for_admins_only(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "ref_manager", role="manager")
    client = site()
    login(client, "ref_manager")
    assert client.get("/admin/reference").status_code == 403
    assert client.get("/admin/reference/districts/500104").status_code == 403


def test_admin_creates_changes_and_disables_a_user(
    site: Callable[..., TestClient], session: Session
) -> None:
    from service.access import service as access_service

    add(session, "users_admin", role="admin")
    client = site()
    login(client, "users_admin")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert not problems(page.text), problems(page.text)
    missing_district = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "qx_officer",
            "display_name": "綦江",
            "password": "綦江区用户的初始口令-2026",
            "role": "district_officer",
        },
    )
    assert missing_district.status_code == 422
    assert "区县用户必须指定所属区县" in missing_district.text
    assert "綦江区用户的初始口令" not in missing_district.text
    assert not problems(missing_district.text), problems(missing_district.text)
    created = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(page.text),
            "username": "qx_officer",
            "display_name": "綦江",
            "password": "綦江区用户的初始口令-2026",
            "role": "district_officer",
            "district_code": "500110",
        },
    )
    assert created.status_code == 303
    user = access_service.find_user(session, "qx_officer")
    assert user is not None
    assert user.must_change_password
    form = client.get(f"/admin/users/{user.id}")
    assert not problems(form.text), problems(form.text)
    epoch = user.auth_epoch
    disabled = client.post(
        f"/admin/users/{user.id}",
        data={
            "csrf_token": csrf_of(form.text),
            "display_name": "綦江",
            "role": "district_officer",
            "district_code": "500110",
        },
    )
    assert disabled.status_code == 303
    session.refresh(user)
    assert not user.active
    assert user.auth_epoch > epoch
