"""REFERENCE.md and LADDER.md facts as a Vocabulary, for the importer's tests and benches."""

from __future__ import annotations

from importers.vocab import ChainPosition, District, Subsector, Tier, Vocabulary
from service.enterprises import credit_code

# (code, name, kind, aliases) — REFERENCE.md's 41 district-level units.
DISTRICTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("500101", "万州区", "district", ()),
    ("500102", "涪陵区", "district", ()),
    ("500103", "渝中区", "district", ()),
    ("500104", "大渡口区", "district", ()),
    ("500105", "江北区", "district", ()),
    ("500106", "沙坪坝区", "district", ()),
    ("500107", "九龙坡区", "district", ()),
    ("500108", "南岸区", "district", ()),
    ("500109", "北碚区", "district", ()),
    ("500110", "綦江区", "district", ()),
    ("500111", "大足区", "district", ()),
    ("500112", "渝北区", "district", ()),
    ("500113", "巴南区", "district", ()),
    ("500114", "黔江区", "district", ()),
    ("500115", "长寿区", "district", ()),
    ("500116", "江津区", "district", ()),
    ("500117", "合川区", "district", ()),
    ("500118", "永川区", "district", ()),
    ("500119", "南川区", "district", ()),
    ("500120", "璧山区", "district", ()),
    ("500151", "铜梁区", "district", ()),
    ("500152", "潼南区", "district", ()),
    ("500153", "荣昌区", "district", ()),
    ("500154", "开州区", "district", ()),
    ("500155", "梁平区", "district", ()),
    ("500156", "武隆区", "district", ()),
    ("500229", "城口县", "county", ()),
    ("500230", "丰都县", "county", ()),
    ("500231", "垫江县", "county", ()),
    ("500233", "忠县", "county", ()),
    ("500235", "云阳县", "county", ()),
    ("500236", "奉节县", "county", ()),
    ("500237", "巫山县", "county", ()),
    ("500238", "巫溪县", "county", ()),
    ("500240", "石柱土家族自治县", "county", ("石柱县",)),
    ("500241", "秀山土家族苗族自治县", "county", ("秀山县",)),
    ("500242", "酉阳土家族苗族自治县", "county", ("酉阳县",)),
    ("500243", "彭水苗族土家族自治县", "county", ("彭水县",)),
    ("Z001", "两江新区", "zone", ()),
    ("Z002", "西部科学城重庆高新区", "zone", ("重庆高新区", "高新区")),
    ("Z003", "万盛经开区", "zone", ("万盛经济技术开发区",)),
)

# Enterprises of 万盛经开区 carry 綦江区's division code in their credit code (REFERENCE.md).
ZONE_DIVISIONS: dict[str, tuple[str, ...]] = {"Z003": ("500110",)}

# category → industry → subsectors, in REFERENCE.md's order; codes are derived as A1.01.
TAXONOMY: tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    (
        "A",
        "先进基础材料",
        (
            ("先进有色金属材料", ("铝合金及铝基新材料", "镁合金", "钛合金", "铜基材料(精品铜材)")),
            (
                "先进钢铁材料",
                ("高品质建筑用钢", "汽摩用钢", "优特钢", "高端不锈钢", "废钢回收利用"),
            ),
            (
                "先进化工材料",
                (
                    "聚氨酯",
                    "聚酯",
                    "高端聚烯烃",
                    "聚酰胺",
                    "聚甲基丙烯酸甲酯(PMMA)",
                    "氟材料",
                    "生物基及可降解材料",
                    "电子化学品及专用化学品",
                    "新型涂料",
                ),
            ),
            (
                "先进绿色建材",
                (
                    "玻璃纤维及制品",
                    "玻璃纤维增强复合材料",
                    "碳纤维及复合材料",
                    "玄武岩纤维",
                    "陶瓷纤维",
                    "装配式建筑部品部件",
                    "玻璃深加工",
                    "先进陶瓷",
                    "新型墙材",
                    "特种水泥及机制砂石",
                ),
            ),
        ),
    ),
    (
        "B",
        "关键战略材料",
        (
            ("新能源材料", ("风电材料(风电纱、叶片)", "光伏材料", "氢能材料")),
            (
                "特种功能材料",
                (
                    "金属复合材料",
                    "稀有及难熔金属材料",
                    "特种合金",
                    "特种气体",
                    "贵金属材料",
                    "金属有机框架材料(MOFs)",
                    "传感器敏感材料",
                    "特种陶瓷制品",
                    "磁材",
                    "靶材",
                    "催化材料",
                ),
            ),
            (
                "新一代信息技术材料",
                (
                    "大尺寸硅片",
                    "第三代半导体",
                    "柔性显示材料",
                    "电子玻璃及组件",
                    "人工晶体及衬底材料",
                    "电子专用化学材料",
                ),
            ),
            (
                "新型储能材料",
                ("正负极材料", "集流体材料", "隔膜材料", "薄膜电池", "镁基储氢", "液流电池材料"),
            ),
        ),
    ),
    (
        "C",
        "前沿新材料",
        (
            ("气凝胶材料", ("气凝胶",)),
            ("石墨烯材料", ("石墨烯",)),
            ("未来材料", ("纳米材料", "智能及仿生材料", "液态金属", "高熵合金", "新型超导材料")),
        ),
    ),
)

# (code, name, rank, aliases) — LADDER.md's tiers table, Chongqing's extra rung included.
TIERS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    (
        "innovative_sme",
        "创新型中小企业",
        10,
        ("创新型", "创新型企业", "科技和创新型中小企业"),
    ),
    (
        "specialized_sme",
        "专精特新中小企业",
        20,
        ("市级专精特新", "省级专精特新", "专精特新企业", "市级专精特新中小企业"),
    ),
    (
        "little_giant",
        "专精特新“小巨人”企业",
        30,
        ("小巨人", "国家级专精特新“小巨人”企业", "国家级小巨人"),
    ),
    ("single_champion", "制造业单项冠军企业", 35, ("单项冠军", "制造业单项冠军")),
    ("listed", "上市企业", 40, ("上市公司", "挂牌上市企业")),
)

CHAIN_POSITIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("rd", "前端研发", ("研发",)),
    ("upstream", "上游原材料开采", ("上游",)),
    ("midstream", "中游材料制造", ("中游",)),
    ("downstream", "下游制品及应用", ("下游",)),
)


def subsectors() -> tuple[Subsector, ...]:
    """Every subsector of the taxonomy with its derived code and its industry's name."""
    out: list[Subsector] = []
    for letter, _category, industries in TAXONOMY:
        for i, (industry, names) in enumerate(industries, start=1):
            for j, name in enumerate(names, start=1):
                out.append(Subsector(code=f"{letter}{i}.{j:02d}", name=name, industry=industry))
    return tuple(out)


def vocabulary() -> Vocabulary:
    """The Vocabulary a caller builds from reference data, with the real credit-code checker."""
    return Vocabulary(
        districts=tuple(
            District(
                code=code,
                name=name,
                kind=kind,
                aliases=aliases,
                divisions=ZONE_DIVISIONS.get(code, ()),
            )
            for code, name, kind, aliases in DISTRICTS
        ),
        subsectors=subsectors(),
        tiers=tuple(
            Tier(code=code, name=name, rank=rank, aliases=aliases)
            for code, name, rank, aliases in TIERS
        ),
        chain_positions=tuple(
            ChainPosition(code=code, name=name, aliases=aliases)
            for code, name, aliases in CHAIN_POSITIONS
        ),
        check_code=credit_code.check,
    )


def make_code(division: str, serial: int) -> str:
    """A valid credit code (enterprise, market regulation) for a division and a serial number."""
    alphabet = credit_code.ALPHABET
    body = ""
    n = serial
    for _ in range(8):
        n, r = divmod(n, 10)
        body = str(r) + body
    org = body + (credit_code.org_check_character(body) or "0")
    first17 = "91" + division + org
    assert all(ch in alphabet for ch in first17)
    return first17 + credit_code.check_character(first17)
