"""The roster template: known columns in order, dropdowns fed from a hidden sheet, instructions."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from exports.text import safe_text
from importers.header import FIELDS, FieldSpec, column_letter
from importers.safety import Limits
from importers.vocab import Vocabulary

SHEET = "企业名单"
INSTRUCTIONS = "填写说明"
LISTS = "代码表"
REQUIRED = ("name", "credit_code", "district")
_UNITS = {"money": "（万元）", "count": "（个）"}
_COUNT_UNITS = {
    "employees": "（人）",
    "rd_staff": "（人）",
    "ip_class1": "（项）",
    "ip_class2": "（项）",
}
_HELP: dict[str, str] = {
    "name": "企业全称，与营业执照一致",
    "credit_code": "18位统一社会信用代码；本列已设为文本格式，请勿改为数字",
    "district": "从下拉列表选择；也可填写“大渡口”“石柱县”等常用简称",
    "subsector": "从下拉列表选择细分领域（“4+4+N”先进材料目录）",
    "chain_position": "从下拉列表选择",
    "tier": "从下拉列表选择；“小巨人”“市级专精特新”等常见写法也能识别",
    "established_on": "日期，如 2021-03-05、2021/3/5 或 2021年3月5日",
    "designated_on": "日期；只知道年份时可填“2021年”",
    "valid_until": "日期",
    "key_enterprise": "填“是”或“否”",
    "designation_batch": "如“2023年第一批”",
}


def header_label(spec: FieldSpec, data_year: int | None = None) -> str:
    """The template's header for a field: figures carry their unit and, if given, their year."""
    label = spec.label
    if spec.figure:
        unit = _COUNT_UNITS.get(spec.field) or _UNITS.get(spec.kind, "")
        label = f"{data_year}年{label}{unit}" if data_year else f"{label}{unit}"
    return label


def build(
    vocab: Vocabulary,
    *,
    rows: Iterable[Mapping[str, Any]] | None = None,
    data_year: int | None = None,
    limits: Limits | None = None,
) -> bytes:
    """An .xlsx template. `rows` may prefill it: mappings from field name (as in FIELDS) to a
    value; districts, subsectors, tiers and chain positions may be given by code or name."""
    import xlsxwriter

    limits = limits or Limits()
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    ws = wb.add_worksheet(SHEET)
    guide = wb.add_worksheet(INSTRUCTIONS)
    lists = wb.add_worksheet(LISTS)
    lists.hide()

    head = wb.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
    )
    head_required = wb.add_format(
        {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True, "valign": "vcenter"}
    )
    text = wb.add_format({"num_format": "@"})
    text_quoted = wb.add_format({"num_format": "@", "quote_prefix": True})
    date = wb.add_format({"num_format": "yyyy-mm-dd"})

    # Dropdown sources live on a hidden sheet: a literal list is capped at 255 characters.
    names = {
        "district": [d.name for d in vocab.districts],
        "subsector": [s.name for s in vocab.subsectors],
        "tier": [t.name for t in sorted(vocab.tiers, key=lambda t: t.rank)],
        "chain_position": [p.name for p in vocab.chain_positions],
    }
    sources: dict[str, str] = {}
    for i, (key, values) in enumerate(names.items()):
        lists.write_string(0, i, key)
        for j, value in enumerate(values, start=1):
            lists.write_string(j, i, value)
        letter = column_letter(i + 1)
        sources[key] = f"='{LISTS}'!${letter}$2:${letter}${max(len(values), 1) + 1}"

    last_row = limits.max_rows  # 0-based index of the last data row the validations cover
    for c, spec in enumerate(FIELDS):
        label = header_label(spec, data_year)
        ws.write_string(0, c, label, head_required if spec.field in REQUIRED else head)
        width = 14 if spec.figure else 18
        if spec.field in ("name", "address", "main_products", "notes"):
            width = 30
        if spec.kind in ("code",) or spec.field == "contact_phone":
            ws.set_column(c, c, 22, text)
        elif spec.kind == "date":
            ws.set_column(c, c, 14, date)
        else:
            ws.set_column(c, c, width)
        if spec.field in sources:
            ws.data_validation(
                1,
                c,
                last_row,
                c,
                {
                    "validate": "list",
                    "source": sources[spec.field],
                    "error_title": "请从列表中选择",
                    "error_message": f"{spec.label}请从下拉列表中选择",
                    "error_type": "warning",
                },
            )
        elif spec.kind == "bool":
            ws.data_validation(1, c, last_row, c, {"validate": "list", "source": ["是", "否"]})
        elif spec.kind in ("money", "count") and not spec.signed:
            ws.data_validation(
                1,
                c,
                last_row,
                c,
                {
                    "validate": "decimal" if spec.kind == "money" else "integer",
                    "criteria": ">=",
                    "value": 0,
                    "error_title": "数值无效",
                    "error_message": f"{spec.label}应为不小于 0 的"
                    + ("数字（万元）" if spec.kind == "money" else "整数"),
                },
            )
    ws.freeze_panes(1, 2)
    ws.set_row(0, 32)

    by_code = {
        "district": {d.code: d.name for d in vocab.districts},
        "subsector": {s.code: s.name for s in vocab.subsectors},
        "tier": {t.code: t.name for t in vocab.tiers},
        "chain_position": {p.code: p.name for p in vocab.chain_positions},
    }
    for r, row in enumerate(rows or (), start=1):
        for c, spec in enumerate(FIELDS):
            given: Any = row.get(spec.field)
            if given is None or given == "":
                continue
            if spec.field in by_code and isinstance(given, str):
                given = by_code[spec.field].get(given, given)
            value = given
            if isinstance(value, bool):
                ws.write_string(r, c, "是" if value else "否")
            elif isinstance(value, int | float | Decimal) and spec.kind in ("money", "count"):
                ws.write_number(r, c, float(value))
            elif isinstance(value, dt.datetime | dt.date):
                stamp = (
                    value
                    if isinstance(value, dt.datetime)
                    else dt.datetime.combine(value, dt.time())
                )
                ws.write_datetime(r, c, stamp, date)
            else:
                # The exports' rule, so the prefilled text reads back as the ledger holds it.
                shown, risky = safe_text(str(value))
                ws.write_string(r, c, shown, text_quoted if risky else text)

    _instructions(wb, guide, data_year)
    wb.close()
    return out.getvalue()


def _instructions(wb: Any, ws: Any, data_year: int | None) -> None:
    title = wb.add_format({"bold": True, "font_size": 14})
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    ws.write_string(0, 0, "企业名单填写说明", title)
    notes = [
        "1. 请在“企业名单”工作表中逐行填写，一行一家企业；表头（第1行）请勿修改或删除。",
        "2. 橙色表头为必填列：企业名称、统一社会信用代码、所属区县。",
        "3. 金额单位为万元；人数、知识产权数量填整数。可以使用千分位（如 1,234.5）。",
        "4. 下拉列表中的内容来自系统代码表；也可以粘贴常用写法，导入时会自动识别。",
        "5. 导入时会逐行检查，错误会标在返回的“错误文件”中，修改后可直接重新上传。",
    ]
    if data_year:
        notes.append(f"6. 经营数据为 {data_year} 年度数据；列名中的年份决定数据所属年度。")
    for i, line in enumerate(notes, start=2):
        ws.write_string(i, 0, line)
    start = len(notes) + 3
    for c, label in enumerate(("列名", "是否必填", "填写说明")):
        ws.write_string(start, c, label, bold)
    for i, spec in enumerate(FIELDS, start=start + 1):
        ws.write_string(i, 0, header_label(spec, data_year), wrap)
        ws.write_string(i, 1, "必填" if spec.field in REQUIRED else "选填", wrap)
        hint = _HELP.get(spec.field)
        if hint is None:
            hint = {
                "money": "数字，单位万元" + ("，可为负数" if spec.signed else "，不能为负数"),
                "count": "整数，不能为负数",
            }.get(spec.kind, "文本")
        ws.write_string(i, 2, hint, wrap)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 10)
    ws.set_column(2, 2, 70)
