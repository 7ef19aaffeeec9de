"""What text and dates a request may carry (service/inputs.py, service/clock.py): characters the
ledger cannot store are refused with the field named on every way in, and request dates are
ISO strings, never numbers read as Unix timestamps."""

from __future__ import annotations

import datetime
import typing
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

import service.app  # noqa: F401  (imports every schema module, so every Input subclass exists)
from exports.text import UNSTORABLE
from exports.text import unstorable_reason as unstorable_message
from service.audit.models import AuditEvent
from service.inputs import Input
from tests.conftest import ADMIN
from tests.dbutil import digest
from tests.factories import credit_code, make_enterprise
from tests.service.enterprises.test_api import payload

API = "/api/v1/enterprises"
LEDGER = ("enterprise", "audit_event")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("重庆材料有限公司", None),
        ("第一行\n第二行\t制表\r回车", None),  # line breaks and tabs are ordinary text
        ("重庆\x00材料", "不能包含控制字符（第3个字符为U+0000）"),
        ("\x0b", "不能包含控制字符（第1个字符为U+000B）"),
        ("a\x1fb", "不能包含控制字符（第2个字符为U+001F）"),
        ("\ud800", "不能包含控制字符（第1个字符为U+D800）"),
        ("\uffff", "不能包含控制字符（第1个字符为U+FFFF）"),
        ("\x7f\x85", None),  # DEL and C1 controls are storable and survive a workbook
    ],
)
def test_unstorable_message_names_the_first_bad_character(text: str, message: str | None) -> None:
    assert unstorable_message(text) == message


@given(st.text())
def test_unstorable_message_agrees_with_the_pattern(text: str) -> None:
    assert (unstorable_message(text) is None) == (UNSTORABLE.search(text) is None)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"name": "重庆\x00材料有限公司"}, "name"),
        ({"main_products": "玻纤\x08制品"}, "main_products"),
        ({"further_subsectors": ["A4.02", "A4\x00"]}, "further_subsectors"),
    ],
)
def test_a_body_with_an_unstorable_character_is_422_and_writes_nothing(
    client: TestClient, session: Session, over: dict[str, Any], field: str
) -> None:
    before = digest(session, LEDGER)
    r = client.post(API, json=payload(credit_code=credit_code("500104"), **over))
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == (field, "text.control_character")
    assert "控制字符" in error["message"]
    assert digest(session, LEDGER) == before


def test_a_query_parameter_with_nul_is_422_naming_it(client: TestClient) -> None:
    r = client.get(API, params={"q": "重庆\x00"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"], error["value"]) == (
        "q",
        "text.control_character",
        "重庆\x00",
    )


def test_a_page_form_with_nul_gets_the_error_page(client: TestClient) -> None:
    r = client.post("/login", data={"username": "admin\x00", "password": "x"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "控制字符" in r.text


def test_multiline_notes_are_kept(client: TestClient, session: Session) -> None:
    e = make_enterprise(session)
    got = client.get(f"{API}/{e.id}")
    notes = "走访记录：\n一、产能\t二、融资"
    r = client.patch(
        f"{API}/{e.id}",
        json={"notes": notes},
        headers={"If-Match": got.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == notes


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def _bare_temporal(annotation: Any) -> bool:
    if annotation in (datetime.date, datetime.datetime):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return _bare_temporal(base) and not any(
            type(m).__name__ == "BeforeValidator" for m in metadata
        )
    return any(_bare_temporal(a) for a in typing.get_args(annotation))


def test_every_request_date_is_iso_only() -> None:
    """A plain `date` field also takes 1700000000 (a timestamp); request bodies use IsoDate."""
    bare = sorted(
        f"{model.__module__}.{model.__name__}.{name}"
        for model in _subclasses(Input)
        if not model.__name__.endswith("Public")
        for name, info in model.model_fields.items()
        if _bare_temporal(info.annotation)
        and not any(type(m).__name__ == "BeforeValidator" for m in info.metadata)
    )
    assert bare == []


@pytest.mark.parametrize("value", ["0.5", "1700000000", "昨天"])
def test_audit_times_are_iso_only(value: str, app_for: Any) -> None:
    r = app_for(ADMIN).get("/api/v1/audit", params={"until": value})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "until"


@pytest.mark.parametrize(
    ("since", "until", "count"),
    [
        ("2026-11-01T08:00:00+08:00", "2026-11-01T10:00:00+08:00", 1),
        ("2026-11-01 08:00", "2026-11-01 10:00", 1),  # no offset: Chongqing time
        ("2026-11-01T00:00:00Z", "2026-11-01T02:00:00Z", 1),
        ("2026-11-01T08:00:00Z", "2026-11-02", 0),
    ],
)
def test_audit_takes_iso_times_offsetless_ones_in_chongqing(
    app_for: Any, session: Session, since: str, until: str, count: int
) -> None:
    """An audit event at 09:00 Chongqing time (01:00 UTC) on 2026-11-01."""
    e = make_enterprise(session)
    at = datetime.datetime(2026, 11, 1, 1, 0, tzinfo=datetime.UTC)
    session.add(
        AuditEvent(
            at=at, actor_name="测试", actor_role="admin", action="test.at", entity="enterprise",
            entity_id=str(e.id), enterprise_id=e.id, changes={}, source="test",
        )
    )  # fmt: skip
    session.flush()
    params = {"since": since, "until": until, "enterprise_id": e.id, "action": "test.at"}
    r = app_for(ADMIN).get("/api/v1/audit", params=params)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == count
