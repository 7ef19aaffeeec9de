"""Header labels as districts write them map to fields; title rows and two-row headers are found."""

from __future__ import annotations

import pytest

from importers.header import detect, match_label


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ("企业名称", "name"),
        ("单位名称", "name"),
        ("公司名称", "name"),
        ("企业名称（全称）", "name"),
        ("企业\n名称", "name"),
        ("*企业名称", "name"),
        ("企业(单位)名称", "name"),
        ("统一社会信用代码", "credit_code"),
        ("社会信用代码", "credit_code"),
        ("信用代码", "credit_code"),
        ("统一社会信用代码（18位）", "credit_code"),
        ("组织机构代码/统一社会信用代码", "credit_code"),
        ("所属区县", "district"),
        ("区县", "district"),
        ("细分领域", "subsector"),
        ("所属行业（细分领域）", "subsector"),
        ("企业梯度", "tier"),
        ("梯度层级", "tier"),
        ("产业链环节", "chain_position"),
        ("有效期至", "valid_until"),
        ("是否重点企业", "key_enterprise"),
        ("Ⅰ类知识产权（项）", "ip_class1"),
        ("I类知识产权", "ip_class1"),
        ("Ⅱ类知识产权", "ip_class2"),
        ("上年度营业收入（万元）", "operating_revenue"),
        ("营业收入/万元", "operating_revenue"),
        ("从业人员（人）", "employees"),
        ("ＲＤ", None),
        ("附加列", None),
    ],
)
def test_label_aliases(label: str, field: str | None) -> None:
    assert match_label(label).field == field


def test_labels_carry_year_and_unit() -> None:
    m = match_label("2024年营业收入（万元）")
    assert (m.field, m.year, m.unit) == ("operating_revenue", 2024, "万元")
    m = match_label("营业收入(元)")
    assert (m.field, m.year, m.unit) == ("operating_revenue", None, "元")
    assert match_label("序号").sequence
    assert match_label("No.").sequence


def test_header_below_title_rows() -> None:
    rows = [
        (1, ["2024年先进材料企业名单", None, None]),
        (2, ["填报单位：大渡口区经济和信息化委员会", None, None]),
        (3, [None, None, None]),
        (4, ["序号", "企业名称", "统一社会信用代码", "区县", "备注说明", "营业收入"]),
        (5, [1, "某公司", "91500104MA5U000000", "大渡口", None, 12]),
    ]
    header = detect(rows)
    assert header is not None
    assert (header.first_row, header.last_row) == (4, 4)
    assert [c.field for c in header.columns] == [
        "name",
        "credit_code",
        "district",
        "operating_revenue",
    ]
    assert header.unknown == ((5, "备注说明"),)
    assert header.preamble[1].startswith("填报单位")


def test_two_row_merged_header_is_flattened() -> None:
    rows = [
        (3, ["序号", "企业名称", "统一社会信用代码", "2023年主要经济指标", None, "联系人", None]),
        (4, [None, None, None, "营业收入（万元）", "从业人员（人）", "姓名", "电话"]),
    ]
    merges = [(3, 1, 4, 1), (3, 2, 4, 2), (3, 3, 4, 3), (3, 4, 3, 5), (3, 6, 3, 7)]
    header = detect(rows, merges)
    assert header is not None
    assert (header.first_row, header.last_row) == (3, 4)
    by_field = {c.field: c for c in header.columns}
    assert by_field["operating_revenue"].key == "operating_revenue:2023"
    assert by_field["operating_revenue"].label == "营业收入（万元）"
    assert by_field["employees"].year == 2023
    assert by_field["contact_person"].index == 6
    assert by_field["contact_phone"].index == 7


def test_two_row_header_without_merge_information() -> None:
    # As a CSV saved from a merged header: the group label only over its first column.
    rows = [
        (1, ["企业名称", "统一社会信用代码", "2022年度经营情况", None, None]),
        (2, [None, None, "营业收入", "研发费用", "净利润"]),
    ]
    header = detect(rows)
    assert header is not None
    keys = {c.key for c in header.columns}
    assert {"rd_expense:2022", "net_profit:2022", "operating_revenue:2022"} <= keys


def test_no_header_without_name_or_code() -> None:
    assert detect([(1, ["所属区县", "细分领域", "企业梯度"])]) is None
    assert detect([(1, ["企业名称"])]) is None
    assert detect([]) is None
