"""What a person does in the browser: sign in as each role, filter, edit (and collide), export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.e2e.conftest import ARTIFACTS, USERS, sign_in


@pytest.mark.parametrize("username", list(USERS))
def test_each_role_signs_in_and_sees_its_scope(page: Any, username: str) -> None:
    sign_in(page, username)
    header = page.locator("header .who").inner_text()
    role, district = USERS[username]
    assert username in header
    assert ("大渡口区" in header) == (district == "500104")
    assert page.locator("h1").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{role}.png"), full_page=True)
    page.get_by_role("link", name="企业台账").click()
    page.wait_for_url("**/enterprises")
    rows = page.locator("#enterprise-list tbody tr")
    if role == "district_officer":
        districts = set(page.locator("#enterprise-list tbody td:nth-child(3)").all_inner_texts())
        assert districts <= {"大渡口区"}
    elif role == "commissioner":
        assert rows.first.inner_text() == "没有符合条件的企业"
    else:
        assert rows.count() == 50


def test_filter_the_list(page: Any) -> None:
    sign_in(page, "e2e_manager")
    page.goto("/enterprises")
    page.get_by_label("区县").select_option(label="大渡口区")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**district=500104**")
    districts = set(page.locator("#enterprise-list tbody td:nth-child(3)").all_inner_texts())
    assert districts == {"大渡口区"}
    page.screenshot(path=str(ARTIFACTS / "enterprise-list.png"), full_page=True)


def test_edit_a_file_and_hit_a_conflict(browser: Any, server: str) -> None:
    first = browser.new_context(base_url=server).new_page()
    second = browser.new_context(base_url=server).new_page()
    sign_in(first, "e2e_manager")
    sign_in(second, "e2e_admin")
    first.goto("/enterprises")
    first.locator("#enterprise-list tbody tr a").first.click()
    url = first.url
    second.goto(url)
    first.get_by_label("联系人").fill("浏览器甲")
    first.get_by_role("button", name="保存修改").click()
    first.wait_for_url("**saved=1")
    assert first.get_by_label("联系人").input_value() == "浏览器甲"
    second.get_by_label("联系人").fill("浏览器乙")
    second.get_by_role("button", name="保存修改").click()
    alert = second.locator(".conflict")
    assert "档案已被他人修改" in alert.inner_text()
    assert "浏览器甲" in alert.inner_text()
    second.screenshot(path=str(ARTIFACTS / "edit-conflict.png"), full_page=True)
    second.goto(url)
    assert second.get_by_label("联系人").input_value() == "浏览器甲"
    first.screenshot(path=str(ARTIFACTS / "enterprise-file.png"), full_page=True)


def test_download_a_ledger_and_open_it(page: Any, tmp_path: Path) -> None:
    sign_in(page, "e2e_officer")
    page.goto("/exports")
    page.get_by_label("细分领域（可多选，选类别或产业即含其下全部细分领域）").select_option(["A4"])
    with page.expect_download() as info:
        page.get_by_role("button", name="下载台账（Excel）").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name.endswith(".xlsx")
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames[0] == "汇总"
    assert len(wb.sheetnames) == 11
    for ws in wb.worksheets[1:]:
        assert "大渡口区" in str(ws["A2"].value)


def test_import_a_messy_roster_through_the_preview(page: Any, tmp_path: Path) -> None:
    from tests import workbooks as W
    from tests.importers.reference import make_code

    rows = []
    for i in range(1, 9):
        code = make_code("500104", 80_000_000 + 7 * i)
        row = W.good_row(
            i, 统一社会信用代码=f" {code.lower()} ", 企业名称=f"浏览器导入{i}号有限公司"
        )
        rows.append(row)
    rows[4]["统一社会信用代码"] = "91500104XXXXXXXXX1"  # a bad code the preview must name
    roster = tmp_path / "大渡口区名单.xlsx"
    roster.write_bytes(
        W.roster_xlsx(rows, two_row_header=True, blank_rows_after=(2,), notes=("填报人：张三",))
    )
    sign_in(page, "e2e_officer")
    page.goto("/imports")
    page.get_by_label("名单文件（.xlsx 或 .csv，不超过 50 MB）").set_input_files(str(roster))
    page.get_by_role("button", name="上传并预览").click()
    page.wait_for_url("**/imports/*")
    errors = page.locator("#errors tbody tr")
    assert errors.count() >= 1
    assert "91500104XXXXXXXXX1" in errors.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "import-preview.png"), full_page=True)
    page.get_by_label("跳过有错误的行，只导入其余 7 行").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="确认导入").click()
    page.wait_for_load_state()
    assert page.locator("#batch-status").inner_text() == "已导入"
    page.screenshot(path=str(ARTIFACTS / "import-result.png"), full_page=True)
    page.goto("/enterprises?q=浏览器导入")
    assert page.locator("#enterprise-list tbody tr").count() == 7


def test_manager_confirms_a_suggested_key_enterprise(page: Any) -> None:
    sign_in(page, "e2e_manager")
    page.get_by_role("link", name="梯度管理").click()
    page.wait_for_url("**/ladder")
    assert page.locator("h1").inner_text().startswith("梯度管理")
    page.screenshot(path=str(ARTIFACTS / "ladder-candidates.png"), full_page=True)
    page.get_by_role("link", name="重点企业遴选").click()
    page.wait_for_url("**/ladder/key")
    row = page.locator("#key-suggestions tbody tr").first
    name = row.locator("td:nth-child(2) a").inner_text()
    row.get_by_label("理由").fill("浏览器测试：产业链关键环节")
    page.screenshot(path=str(ARTIFACTS / "key-selection.png"), full_page=True)
    row.get_by_role("button", name="确认为重点企业").click()
    page.wait_for_url("**/ladder/key?*done=confirmed*")
    assert "已确认为重点企业" in page.locator(".notice").inner_text()
    names = page.locator("#key-suggestions tbody td:nth-child(2)").all_inner_texts()
    assert name not in names
    page.goto(f"/enterprises?q={name}&key=yes")
    page.locator("#enterprise-list tbody tr a").first.click()
    assert "重点企业" in page.locator(".sub").inner_text()
    assert page.locator("#verdicts tbody tr").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "enterprise-file-panels.png"), full_page=True)


def test_api_docs_render_offline(page: Any) -> None:
    """/docs draws Swagger UI from this server's own files, with no console errors (a CSP
    refusal or a blocked CDN would leave it blank)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else 0)
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=15_000)
    assert "TierLedger" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-tag").count() >= 5
    assert problems == []
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
