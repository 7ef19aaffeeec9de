"""The import pages: upload a messy roster, see the errors, confirm, see the result, revert."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from service.audit.models import AuditEvent
from service.enterprises.models import Enterprise
from service.imports import service as import_service
from service.imports.models import ImportBatch
from tests import workbooks as W
from tests.dbutil import digest
from tests.importers.reference import make_code
from tests.service.web.htmlcheck import problems
from tests.service.web.pageutil import add, csrf_of, login

SERIAL = iter(range(60_000_000, 70_000_000, 7))


def roster(n: int, *, bad_rows: tuple[int, ...] = ()) -> bytes:
    rows: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        code = make_code("500104", next(SERIAL))
        row = W.good_row(i, 统一社会信用代码=code, 企业名称=f"页面导入{code[-6:]}有限公司")
        if i in bad_rows:
            row["统一社会信用代码"] = code[:-1] + ("0" if code[-1] != "0" else "1")
        rows.append(row)
    return W.roster_xlsx(rows, two_row_header=True)


def upload(client: TestClient, data: bytes) -> Any:
    page = client.get("/imports")
    assert page.status_code == 200
    return client.post(
        "/imports",
        data={"csrf_token": csrf_of(page.text), "data_year": "2024"},
        files={"file": ("大渡口区名单.xlsx", data, "application/octet-stream")},
    )


def test_upload_preview_confirm_and_revert(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "imp_officer", role="district_officer", district_code="500104")
    add(session, "imp_manager")
    officer = site()
    login(officer, "imp_officer")
    before = digest(session)
    r = upload(officer, roster(6, bad_rows=(3,)))
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    preview = officer.get(url)
    assert preview.status_code == 200
    assert not problems(preview.text), problems(preview.text)
    assert "第18位校验码应为" in preview.text
    assert "下载标注了错误的名单" in preview.text
    # All or nothing: with an error row and no skip, nothing is written.
    refused = officer.post(f"{url}/commit", data={"csrf_token": csrf_of(preview.text)})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert digest(session) == before
    errors = officer.get(f"{url}/errors.xlsx")
    assert errors.status_code == 200
    assert errors.headers["content-disposition"].startswith("attachment;")
    openpyxl.load_workbook(io.BytesIO(errors.content))
    done = officer.post(
        f"{url}/commit", data={"csrf_token": csrf_of(preview.text), "skip_invalid": "on"}
    )
    assert done.status_code == 303
    result = officer.get(url)
    assert "已导入" in result.text
    created = session.scalar(
        sa.select(sa.func.count()).select_from(Enterprise).where(Enterprise.name.like("页面导入%"))  # type: ignore[attr-defined]
    )
    assert created == 5
    progress = officer.get(f"{url}/progress").json()
    assert progress["status"] == "committed"
    # Reverting is a manager's function.
    assert (
        officer.post(f"{url}/revert", data={"csrf_token": csrf_of(result.text)}).status_code == 403
    )
    manager = site()
    login(manager, "imp_manager")
    page = manager.get(url)
    assert manager.post(f"{url}/revert", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert digest(session) == before
    history = manager.get("/imports")
    assert "已撤销" in history.text
    assert not problems(history.text)


def test_a_file_that_is_not_a_workbook_is_explained(
    site: Callable[..., TestClient], session: Session
) -> None:
    add(session, "imp_bad", role="district_officer", district_code="500104")
    client = site()
    login(client, "imp_bad")
    before = digest(session)
    r = upload(client, b"\x89PNG\r\n\x1a\n" + b"0" * 200)
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    assert not problems(r.text)
    assert digest(session) == before


def test_template_download(site: Callable[..., TestClient], session: Session) -> None:
    add(session, "imp_tpl", role="district_officer", district_code="500104")
    client = site()
    login(client, "imp_tpl")
    r = client.get("/imports/template.xlsx?district=500104")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert len(wb.sheetnames) >= 2


def test_viewers_cannot_import(site: Callable[..., TestClient], session: Session) -> None:
    add(session, "imp_viewer", role="viewer")
    client = site()
    login(client, "imp_viewer")
    assert client.get("/imports").status_code == 403


HOSTILE_NAMES = [
    "../../etc/passwd.xlsx",
    "名单\r\nSet-Cookie: a=b.xlsx",
    "<script>alert(1)</script>名单.xlsx",
    "长" * 300 + ".xlsx",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["traversal", "crlf", "markup", "300-chars"])
def test_a_hostile_upload_name_is_stored_generated_and_shown_escaped(
    site: Callable[..., TestClient], session: Session, name: str
) -> None:
    """RELIABILITY 10: the file lands under a generated name in the data dir; pages and the
    audit trail show the original escaped; downloads carry no CR/LF in their headers."""
    add(session, "name_manager")
    client = site()
    login(client, "name_manager")
    page = client.get("/imports")
    r = client.post(
        "/imports",
        data={"csrf_token": csrf_of(page.text), "data_year": "2024"},
        files={"file": (name, roster(2, bad_rows=(2,)), "application/octet-stream")},
    )
    assert r.status_code == 303, r.text
    batch = session.scalars(sa.select(ImportBatch).order_by(ImportBatch.id.desc())).first()
    assert batch is not None
    assert re.fullmatch(r"[0-9a-f]{16,64}\.xlsx", batch.stored_name), batch.stored_name
    shown = client.get(r.headers["location"])
    assert "<script>alert(1)</script>" not in shown.text
    assert not any("a=b" in v for v in shown.headers.get_list("set-cookie"))
    if "<script>" in name:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert not problems(shown.text), problems(shown.text)
    marked = client.get(f"/imports/{batch.id}/errors.xlsx")
    assert marked.status_code == 200
    disposition = marked.headers["content-disposition"]
    assert "filename*=UTF-8''" in disposition
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert marked.headers["x-content-type-options"] == "nosniff"
    assert not any("a=b" in v for v in marked.headers.get_list("set-cookie"))
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.source == f"import:{batch.id}")
    ).all()
    assert audit
    assert all("\r" not in a.entity_repr and "\n" not in a.entity_repr for a in audit)


def test_cancel_closes_the_previewed_batch(
    site: Callable[..., TestClient], session: Session
) -> None:
    """暂不导入 is a POST with the form's CSRF token: the batch ends rejected with the reason,
    the ledger is untouched, and the stale preview can no longer be committed."""
    add(session, "imp_cancel", role="district_officer", district_code="500104")
    client = site()
    login(client, "imp_cancel")
    url = upload(client, roster(3)).headers["location"]
    preview = client.get(url)
    assert f'action="{url}/cancel"' in preview.text
    assert client.post(f"{url}/cancel").status_code == 403  # no CSRF token: refused
    batch_id = int(url.rsplit("/", 1)[1])
    batch = session.get(ImportBatch, batch_id)
    assert batch is not None
    session.refresh(batch)
    assert batch.status == "previewed"
    done = client.post(f"{url}/cancel", data={"csrf_token": csrf_of(preview.text)})
    assert done.status_code == 303
    assert done.headers["location"] == url
    session.refresh(batch)
    assert batch.status == "rejected"
    assert batch.result == {"reason": "上传人取消，未导入"}
    shown = client.get(url)
    assert "已驳回" in shown.text
    assert "上传人取消，未导入" in shown.text
    assert "确认导入" not in shown.text
    assert f'action="{url}/cancel"' not in shown.text
    assert not problems(shown.text), problems(shown.text)
    again = client.post(f"{url}/commit", data={"csrf_token": csrf_of(shown.text)})
    assert again.status_code == 409
    assert client.post(f"{url}/cancel", data={"csrf_token": csrf_of(shown.text)}).status_code == 409
    events = session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.entity == "import_batch", AuditEvent.entity_id == str(batch_id)
        )
    ).all()
    assert "import.reject" in events
    created = session.scalar(
        sa.select(sa.func.count()).select_from(Enterprise).where(Enterprise.name.like("页面导入%"))  # type: ignore[attr-defined]
    )
    assert created == 0


def test_the_upload_page_shows_the_preview_as_it_goes(
    site: Callable[..., TestClient], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(session, "imp_watcher", role="district_officer", district_code="500104")
    add(session, "imp_bystander", role="district_officer", district_code="500104")
    officer, bystander = site(), site()
    login(officer, "imp_watcher")
    login(bystander, "imp_bystander")
    page = officer.get("/imports")
    found = re.search(r'name="upload_id" value="([A-Za-z0-9_-]+)"', page.text)
    assert found is not None
    upload_id = found.group(1)
    url = f"/imports/uploads/{upload_id}/progress"
    assert f'data-progress="{url}"' in page.text
    assert officer.get(url).json()["status"] == "unknown"  # not begun

    # Polled from inside the preview, as the page polls while its upload request runs.
    seen: list[tuple[Any, ...]] = []
    real = import_service.preview

    def watched(*args: Any, **kwargs: Any) -> Any:
        report = kwargs["progress"]

        def spy(phase: str, done: int, total: int) -> None:
            report(phase, done, total)
            seen.append((officer.get(url).json(), bystander.get(url).json()))

        return real(*args, **{**kwargs, "progress": spy})

    monkeypatch.setattr(import_service, "preview", watched)
    monkeypatch.setattr(import_service, "CHUNK_LINES", 2)
    r = officer.post(
        "/imports",
        data={"csrf_token": csrf_of(page.text), "data_year": "2024", "upload_id": upload_id},
        files={"file": ("大渡口区名单.xlsx", roster(7, bad_rows=(4,)), "application/octet-stream")},
    )
    assert r.status_code == 303, r.text
    mine = [m for m, _other in seen]
    assert all(m["status"] == "running" for m in mine)
    assert ("read", 2) in {(m["phase"], m["done"]) for m in mine}
    assert ("validated", 2) in {(m["phase"], m["done"]) for m in mine}
    assert mine[-1] == {"status": "running", "phase": "validated", "done": 7, "total": 7}
    assert all(other["status"] == "unknown" for _m, other in seen)  # only the uploader's
    assert officer.get(url).json()["status"] == "unknown"  # done: the next page took over
    assert officer.get("/imports/uploads/short/progress").status_code == 422
