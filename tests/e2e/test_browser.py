"""What a person does in the browser: sign in as each role, filter, edit (and collide), export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.e2e.conftest import ARTIFACTS, COMMISSIONERS, SHARED_FILE, USERS, sign_in
from tests.service.web.htmlcheck import problems


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


def test_two_commissioners_collide_on_one_file(browser: Any, server: str) -> None:
    """Two commissioners of one enterprise edit its file at once in two browsers: the second
    save is refused with what changed meanwhile, and the first one's edit stands."""
    contexts = [browser.new_context(base_url=server, locale="zh-CN") for _ in COMMISSIONERS]
    try:
        tech, finance = (c.new_page() for c in contexts)
        for p, username in zip((tech, finance), COMMISSIONERS, strict=True):
            sign_in(p, username)
        tech.get_by_role("link", name="企业台账").click()
        tech.get_by_role("link", name=SHARED_FILE).click()
        url = tech.url
        finance.goto(url)
        assert finance.get_by_label("联系人").input_value() == "原联系人"
        tech.get_by_label("联系人").fill("科技专员填的")
        tech.get_by_role("button", name="保存修改").click()
        tech.wait_for_url("**saved=1")
        finance.get_by_label("联系人").fill("融资专员填的")
        finance.get_by_label("备注").fill("融资专员的备注")
        finance.get_by_role("button", name="保存修改").click()
        alert = finance.locator(".conflict")
        assert "档案已被他人修改" in alert.inner_text()
        row = alert.locator("tbody tr", has_text="联系人")
        assert row.locator("td").all_inner_texts() == ["联系人", "科技专员填的", "融资专员填的"]
        finance.screenshot(path=str(ARTIFACTS / "edit-conflict-commissioners.png"), full_page=True)
        finance.goto(url)
        assert finance.get_by_label("联系人").input_value() == "科技专员填的"
        assert finance.get_by_label("备注").input_value() == ""
    finally:
        for c in contexts:
            c.close()


def test_after_logout_back_and_revisits_go_to_the_login_page(page: Any) -> None:
    sign_in(page, "e2e_viewer")
    page.get_by_role("link", name="企业台账").click()
    page.wait_for_url("**/enterprises")
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login")
    page.go_back()
    # The page is asked for again (never shown from the browser's cache), and the server sends
    # the signed-out browser to sign in, coming back to where it was.
    page.wait_for_url("**/login?next=/enterprises")
    assert page.locator("header .who").count() == 0
    assert page.get_by_label("用户名").is_visible()
    page.goto("/enterprises?district=500104")
    page.wait_for_url("**/login?next=**")
    page.goto("/")
    page.wait_for_url("**/login?next=/")


@pytest.mark.parametrize(
    ("username", "pages"),
    [
        (
            "e2e_manager",
            [
                ("/commissioners", "commissioners"),
                ("/commissioners/coverage", "commissioner-coverage"),
                ("/commissioners/suggestions", "commissioner-suggestions"),
                ("/services", "services"),
            ],
        ),
        ("e2e_comm_tech", [("/services", "services-commissioner")]),
        ("e2e_officer", [("/exports", "exports")]),
        ("e2e_admin", [("/admin/users", "admin-users"), ("/admin/reference", "admin-reference")]),
    ],
)
def test_pages_pass_the_html_check_and_are_kept_as_screenshots(
    page: Any, username: str, pages: list[tuple[str, str]]
) -> None:
    """The HTML each page sent the browser passes the validity and accessibility smoke check
    (lang, one h1, labelled inputs, no inline script); a screenshot of each is kept."""
    sign_in(page, username)
    for path, name in pages:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        assert problems(response.text()) == [], path
        assert page.locator("h1").count() == 1, path
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_cancel_an_import_preview(page: Any, tmp_path: Path) -> None:
    from tests import workbooks as W
    from tests.importers.reference import make_code

    rows = [
        W.good_row(
            i,
            统一社会信用代码=make_code("500104", 81_000_000 + 7 * i),
            企业名称=f"浏览器取消{i}号有限公司",
        )
        for i in range(1, 4)
    ]
    roster = tmp_path / "取消的名单.xlsx"
    roster.write_bytes(W.roster_xlsx(rows))
    sign_in(page, "e2e_officer")
    page.goto("/imports")
    page.get_by_label("名单文件（.xlsx 或 .csv，不超过 50 MB）").set_input_files(str(roster))
    page.get_by_role("button", name="上传并预览").click()
    page.wait_for_url("**/imports/*")
    assert page.locator("#batch-status").inner_text() == "待确认"
    url = page.url
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="暂不导入，取消本批次").click()
    page.wait_for_load_state()
    page.locator("#batch-status", has_text="已驳回").wait_for()
    assert "上传人取消，未导入" in page.locator("#batch-reason").inner_text()
    assert page.get_by_role("button", name="确认导入").count() == 0
    page.screenshot(path=str(ARTIFACTS / "import-cancelled.png"), full_page=True)
    page.goto(url)
    assert page.locator("#batch-status").inner_text() == "已驳回"
    page.goto("/enterprises?q=浏览器取消")
    assert page.locator("#enterprise-list tbody tr").first.inner_text() == "没有符合条件的企业"
