"""A realistic generated ledger for Chongqing, for trying the service and for benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from service.access.actor import Actor
from service.audit import service as audit_service
from service.db import utcnow
from service.enterprises.credit_code import ALPHABET, check_character, org_check_character
from service.enterprises.models import AnnualFigures, Enterprise
from service.ladder.models import Designation
from service.ladder.service import validity_end
from service.reference.models import ChainPosition, District, SubsectorNode, Tier

# Zones have no division code of their own: their enterprises carry their host district's.
ZONE_DIVISIONS = {"Z001": ("500112", "500105"), "Z002": ("500106", "500107"), "Z003": ("500110",)}

_BRAND = "鑫瑞恒盛华泰宏达源博通远锦嘉业昌隆腾飞卓越德辉永晟宇航凯创新锐科铭睿丰旭东方天成"
_TRADE = {
    "A1": ["铝业", "镁业", "钛业", "铜业", "轻合金"],
    "A2": ["钢铁", "特钢", "钢材", "金属制品"],
    "A3": ["化工", "新材料", "聚合物", "化学", "涂料"],
    "A4": ["玻纤", "复合材料", "建材", "陶瓷", "纤维"],
    "B": ["新能源材料", "功能材料", "电子材料", "储能科技", "半导体材料"],
    "C": ["纳米科技", "石墨烯科技", "气凝胶科技", "先进材料"],
}
_PRODUCTS = [
    "板材",
    "型材",
    "薄膜",
    "纤维",
    "粉体",
    "涂层",
    "线缆",
    "管材",
    "颗粒",
    "靶材",
    "浆料",
    "毡",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红文斌宇浩鹏"
_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class DemoResult:
    enterprises: int
    designations: int
    figures: int


def _credit_code(rng: random.Random, division: str, used: set[str]) -> str:
    while True:
        body = "MA" + "".join(rng.choice(_ORG_CHARS) for _ in range(6))
        org_check = org_check_character(body)
        if org_check is None or org_check not in ALPHABET:
            continue
        first17 = f"91{division}{body}{org_check}"
        code = first17 + check_character(first17)
        if code not in used:
            used.add(code)
            return code


def _money(value: float) -> Decimal:
    return Decimal(f"{max(value, 0):.2f}")


def generate(
    session: Session, actor: Actor, *, enterprises: int, seed: int, today: date
) -> DemoResult:
    """Insert `enterprises` generated files with designations and three years of figures."""
    rng = random.Random(seed)
    districts = list(session.scalars(sa.select(District)))
    weights = [1 if d.kind == "county" else 3 for d in districts]
    leaves = list(session.scalars(sa.select(SubsectorNode).where(SubsectorNode.level == 3)))
    chains = [c.code for c in session.scalars(sa.select(ChainPosition))]
    tiers = {t.code: t for t in session.scalars(sa.select(Tier))}
    used = set(session.scalars(sa.select(Enterprise.credit_code)))
    next_id = (session.scalar(sa.select(sa.func.max(Enterprise.id))) or 0) + 1
    now = utcnow()
    years = [today.year - 3, today.year - 2, today.year - 1]

    ent_rows: list[dict[str, Any]] = []
    des_rows: list[dict[str, Any]] = []
    fig_rows: list[dict[str, Any]] = []
    n_des = n_fig = 0

    def flush() -> None:
        nonlocal n_des, n_fig
        if ent_rows:
            session.execute(sa.insert(Enterprise), ent_rows)
        if des_rows:
            session.execute(sa.insert(Designation), des_rows)
        if fig_rows:
            session.execute(sa.insert(AnnualFigures), fig_rows)
        n_des += len(des_rows)
        n_fig += len(fig_rows)
        ent_rows.clear()
        des_rows.clear()
        fig_rows.clear()

    for i in range(enterprises):
        eid = next_id + i
        district = rng.choices(districts, weights)[0]
        division = rng.choice(ZONE_DIVISIONS.get(district.code, (district.code,)))
        leaf = rng.choice(leaves)
        family = leaf.code[:2] if leaf.code.startswith("A") else leaf.code[0]
        brand = "".join(rng.sample(_BRAND, 2))
        short = district.name.removesuffix("区").removesuffix("县")[:2]
        name = f"重庆{brand}{rng.choice(_TRADE[family])}有限公司"
        if rng.random() < 0.3:
            name = f"重庆{short}{brand}{rng.choice(_TRADE[family])}股份有限公司"
        established = date(
            rng.randint(1995, today.year - 2), rng.randint(1, 12), rng.randint(1, 28)
        )
        ent_rows.append(
            {
                "id": eid,
                "credit_code": _credit_code(rng, division, used),
                "name": name,
                "district_code": district.code,
                "subsector_code": leaf.code,
                "chain_position": rng.choice(chains),
                "main_products": f"{leaf.name.split('(')[0]}{rng.choice(_PRODUCTS)}",
                "established_on": established,
                "address": f"重庆市{district.name}{brand}路{rng.randint(1, 999)}号",
                "legal_representative": rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, 2)),
                "contact_person": rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                "contact_phone": f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}",
                "is_key": rng.random() < 0.08,
                "key_reason": "",
                "status": rng.choices(["active", "moved_out", "deregistered"], [97, 2, 1])[0],
                "notes": "",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        # A plausible climb: most hold the first rung, fewer climb higher, each step later.
        top = rng.choices([0, 1, 2, 3, 4], [25, 45, 22, 6, 2])[0]
        ladder = ["innovative_sme", "specialized_sme", "little_giant", "listed"][:top]
        when = date(
            rng.randint(2019, today.year - 1), rng.choice([3, 6, 9, 12]), rng.randint(1, 28)
        )
        for step, code in enumerate(ladder):
            if code not in tiers:
                continue
            designated = when + timedelta(days=365 * step + rng.randint(0, 300))
            if designated > today:
                break
            years_valid = tiers[code].validity_years
            des_rows.append(
                {
                    "enterprise_id": eid,
                    "tier_code": code,
                    "batch": f"{designated.year}年第{1 if designated.month <= 6 else 2}批",
                    "authority": tiers[code].designated_by,
                    "document_no": "",
                    "designated_on": designated,
                    "valid_until": validity_end(designated, years_valid) if years_valid else None,
                    "status": "valid",
                    "reason": "",
                    "revoked_on": None,
                    "source": "demo",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        revenue = rng.lognormvariate(8.3, 1.3)  # 万元: median ≈ 4000万
        employees = max(10, int(revenue / rng.uniform(60, 160)))
        for year in years:
            revenue *= rng.uniform(0.9, 1.25)
            main = revenue * rng.uniform(0.6, 1.0)
            assets = revenue * rng.uniform(0.8, 2.0)
            rd_staff = int(employees * rng.uniform(0.05, 0.3))
            fig_rows.append(
                {
                    "enterprise_id": eid,
                    "year": year,
                    "operating_revenue": _money(revenue),
                    "main_business_revenue": _money(main),
                    "rd_expense": _money(revenue * rng.uniform(0.005, 0.09)),
                    "total_assets": _money(assets),
                    "total_liabilities": _money(assets * rng.uniform(0.2, 0.85)),
                    "net_profit": Decimal(f"{revenue * rng.uniform(-0.05, 0.15):.2f}"),
                    "new_equity_financing": _money(rng.choice([0, 0, 0, 500, 2000, 6000])),
                    "employees": employees,
                    "rd_staff": rd_staff,
                    "ip_class1": rng.randint(0, 12),
                    "ip_class2": rng.randint(0, 30),
                    "source": "demo",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if len(ent_rows) >= 5000:
            flush()
    flush()
    audit_service.record(
        session,
        actor,
        action="demo_data.generate",
        entity="ledger",
        entity_repr=f"演示数据 {enterprises} 家企业",
        changes={
            "enterprises": [None, enterprises],
            "designations": [None, n_des],
            "figures": [None, n_fig],
            "seed": [None, seed],
        },
        source="demo",
    )
    return DemoResult(enterprises, n_des, n_fig)
