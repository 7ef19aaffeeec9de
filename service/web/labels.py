"""Chinese labels for field names and audit actions, so pages never show identifiers."""

from __future__ import annotations

from datetime import datetime

from service.clock import CHINA

FIELD_ZH = {
    "credit_code": "统一社会信用代码",
    "name": "企业名称",
    "district_code": "所属区县",
    "subsector_code": "细分领域",
    "further_subsectors": "其他细分领域",
    "chain_position": "产业链环节",
    "main_products": "主营产品",
    "established_on": "成立日期",
    "address": "注册地址",
    "legal_representative": "法定代表人",
    "contact_person": "联系人",
    "contact_phone": "联系电话",
    "is_key": "重点企业",
    "key_reason": "重点企业理由",
    "status": "状态",
    "notes": "备注",
    "reason": "原因",
    "operating_revenue": "营业收入（万元）",
    "main_business_revenue": "主营业务收入（万元）",
    "rd_expense": "研发费用（万元）",
    "total_assets": "资产总额（万元）",
    "total_liabilities": "负债总额（万元）",
    "net_profit": "净利润（万元）",
    "new_equity_financing": "新增股权融资（万元）",
    "employees": "从业人员",
    "rd_staff": "研发人员",
    "ip_class1": "Ⅰ类知识产权",
    "ip_class2": "Ⅱ类知识产权",
    "tier_code": "梯度",
    "batch": "认定批次",
    "authority": "认定机关",
    "document_no": "认定文号",
    "designated_on": "认定日期",
    "valid_until": "有效期至",
    "revoked_on": "撤销日期",
}

ACTION_ZH = {
    "enterprise.create": "登记企业",
    "enterprise.update": "修改档案",
    "enterprise.status": "变更状态",
    "figures.put": "填报经营数据",
    "designation.add": "新增认定",
    "designation.revoke": "撤销认定",
    "export.ledger": "导出台账",
}


def field_zh(name: str) -> str:
    """A field as people call it, also for plan keys such as "operating_revenue:2024" and
    "designation.tier_code"."""
    if ":" in name:
        field, _, year = name.partition(":")
        return f"{year}年{FIELD_ZH.get(field, field)}"
    if name.startswith("designation."):
        return f"认定·{FIELD_ZH.get(name.split('.', 1)[1], name)}"
    return FIELD_ZH.get(name, name)


CODED_FIELDS = {"district_code": "district", "subsector_code": "subsector", "tier_code": "tier"}


def value_zh(field: str, value: object, names: dict[str, dict[str, str]]) -> str:
    """A value as people read it: codes of districts, subsectors and tiers become names."""
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    kind = CODED_FIELDS.get(field.rsplit(".", 1)[-1])
    if kind and isinstance(value, str):
        return names.get(kind, {}).get(value, value)
    return str(value)


def action_zh(action: str) -> str:
    return ACTION_ZH.get(action, action)


def beijing(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "—"
