"""Deterministic synthetic rosters, clean or messy, of any size as .xlsx bytes, for benches."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from collections.abc import Iterator
from xml.sax.saxutils import escape

from tests.importers.reference import CHAIN_POSITIONS, DISTRICTS, TIERS, make_code, subsectors

HEADERS = (
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所属区县",
    "细分领域",
    "产业链环节",
    "主营产品",
    "成立日期",
    "注册地址",
    "法定代表人",
    "联系人",
    "联系电话",
    "企业梯度",
    "认定批次",
    "认定日期",
    "营业收入",
    "研发费用",
    "从业人员",
    "研发人员",
    "备注",
)
FIGURES = ("营业收入", "研发费用", "从业人员", "研发人员")
FIGURE_UNITS = {"营业收入": "万元", "研发费用": "万元", "从业人员": "人", "研发人员": "人"}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国志红"
_WORDS = "华渝川嘉盛鑫泰宏达恒通瑞丰源隆昌新锦航远博创兴德诚信安康卓越凯"
_KINDS = ("新材料", "材料科技", "金属制品", "化工", "复合材料", "科技", "实业", "新能源材料")
_FORMS = ("有限公司", "股份有限公司", "有限责任公司")
_PRODUCTS = ("铝合金型材", "镁合金压铸件", "玻璃纤维纱", "碳纤维预浸料", "特种气体", "锂电正极材料")
_TIER_SPELLINGS = {
    "innovative_sme": ("创新型中小企业", "创新型", "创新型企业"),
    "specialized_sme": ("专精特新中小企业", "市级专精特新", "专精特新企业"),
    "little_giant": (
        "专精特新“小巨人”企业",
        "国家级专精特新“小巨人”企业",
        "小巨人",
        "专精特新「小巨人」企业",
        '专精特新"小巨人"企业',
    ),
    "single_champion": ("制造业单项冠军企业", "单项冠军"),
    "listed": ("上市企业", "上市公司"),
}
_EPOCH = dt.date(1899, 12, 30)
# District codes usable inside a credit code (zones carry their host district's code).
_REAL_DIVISIONS = [code for code, _n, kind, _a in DISTRICTS if kind != "zone"]
_ZONE_HOSTS = {"Z001": "500112", "Z002": "500106", "Z003": "500110"}


def _col(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def roster_rows(n: int, *, seed: int = 0) -> Iterator[dict[str, object]]:
    """Clean, valid rows keyed by header; every credit code is unique and checks."""
    rnd = random.Random(seed)
    subs = subsectors()
    tier_weights = [50, 30, 12, 3, 5]
    for i in range(n):
        code, name, _kind, _aliases = DISTRICTS[rnd.randrange(len(DISTRICTS))]
        division = code if code in _REAL_DIVISIONS else _ZONE_HOSTS[code]
        tier = rnd.choices([t[0] for t in TIERS], tier_weights)[0]
        revenue = round(rnd.uniform(500, 500_000), 1)
        employees = rnd.randint(20, 3000)
        yield {
            "序号": i + 1,
            "企业名称": "重庆"
            + "".join(rnd.choice(_WORDS) for _ in range(2))
            + rnd.choice(_KINDS)
            + f"{i:06d}"
            + rnd.choice(_FORMS),
            "统一社会信用代码": make_code(division, 10_000_000 + seed * 1_000_003 + i),
            "所属区县": name,
            "细分领域": subs[rnd.randrange(len(subs))].name,
            "产业链环节": CHAIN_POSITIONS[rnd.randrange(len(CHAIN_POSITIONS))][1],
            "主营产品": rnd.choice(_PRODUCTS),
            "成立日期": dt.date(1995, 1, 1) + dt.timedelta(days=rnd.randrange(10_000)),
            "注册地址": f"重庆市{name}{rnd.choice(_WORDS)}路{rnd.randint(1, 999)}号",
            "法定代表人": rnd.choice(_SURNAMES) + rnd.choice(_GIVEN) + rnd.choice(_GIVEN),
            "联系人": rnd.choice(_SURNAMES) + rnd.choice(_GIVEN),
            "联系电话": f"1{rnd.randint(3_000_000_000, 9_999_999_999)}",
            "企业梯度": tier,
            "认定批次": f"{rnd.randint(2019, 2024)}年第{rnd.choice('一二')}批",
            "认定日期": dt.date(2019, 1, 1) + dt.timedelta(days=rnd.randrange(2000)),
            "营业收入": revenue,
            "研发费用": round(revenue * rnd.uniform(0.01, 0.12), 1),
            "从业人员": employees,
            "研发人员": rnd.randint(1, max(1, employees // 4)),
            "备注": "" if rnd.random() < 0.8 else "重点培育",
        }


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def _messy(row: dict[str, object], rnd: random.Random, year: int) -> dict[str, object]:
    """The same facts written the ways districts write them."""
    out = dict(row)
    code = str(row["统一社会信用代码"])
    r = rnd.random()
    if r < 0.2:
        out["统一社会信用代码"] = code.lower()
    elif r < 0.3:
        out["统一社会信用代码"] = " ".join(code[i : i + 4] for i in range(0, 18, 4))
    elif r < 0.35:
        out["统一社会信用代码"] = _fullwidth(code)
    district = str(row["所属区县"])
    if rnd.random() < 0.3 and district.endswith(("区", "县")) and len(district) > 2:
        out["所属区县"] = district[:-1]
    tier = str(row["企业梯度"])
    out["企业梯度"] = rnd.choice(_TIER_SPELLINGS[tier])
    sub = str(row["细分领域"])
    if "(" in sub and rnd.random() < 0.5:
        out["细分领域"] = sub.replace("(", "（").replace(")", "）")
    for key in ("营业收入", "研发费用"):
        value = float(row[key])  # type: ignore[arg-type]
        r = rnd.random()
        if r < 0.2:
            out[key] = f"{value:,.1f}"
        elif r < 0.35:
            out[key] = f"{value}万元"
        elif r < 0.45:
            out[key] = _fullwidth(f"{value}")
    if rnd.random() < 0.3:
        out["从业人员"] = f"{row['从业人员']}人"
    established = row["成立日期"]
    assert isinstance(established, dt.date)
    r = rnd.random()
    if r < 0.2:
        out["成立日期"] = established.isoformat()
    elif r < 0.35:
        out["成立日期"] = f"{established.year}/{established.month}/{established.day}"
    elif r < 0.5:
        out["成立日期"] = f"{established.year}年{established.month}月{established.day}日"
    designated = row["认定日期"]
    assert isinstance(designated, dt.date)
    if rnd.random() < 0.3:
        out["认定日期"] = f"{designated.year}年"
        out["_designated_year_only"] = True
    return out


class _Sheet:
    """A worksheet written straight to XML with a shared-string table, like Excel writes it."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.strings: dict[str, int] = {}
        self.merges: list[str] = []

    def sst(self, text: str) -> int:
        idx = self.strings.get(text)
        if idx is None:
            idx = self.strings[text] = len(self.strings)
        return idx

    def add_row(self, r: int, values: list[object], style: int = 0) -> None:
        cells = []
        for c, value in enumerate(values, start=1):
            ref = f"{_col(c)}{r}"
            s = f' s="{style}"' if style else ""
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, dt.date):
                cells.append(f'<c r="{ref}" s="1"><v>{(value - _EPOCH).days}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"{s}><v>{value!r}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{s} t="s"><v>{self.sst(str(value))}</v></c>')
        self.rows.append(f'<row r="{r}">{"".join(cells)}</row>')

    def xml(self, width: int) -> bytes:
        last = len(self.rows)
        merges = ""
        if self.merges:
            merges = f'<mergeCells count="{len(self.merges)}">' + "".join(
                f'<mergeCell ref="{m}"/>' for m in self.merges
            )
            merges += "</mergeCells>"
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<dimension ref="A1:{_col(width)}{max(last, 1)}"/><sheetData>'
            + "".join(self.rows)
            + "</sheetData>"
            + merges
            + "</worksheet>"
        ).encode()

    def sst_xml(self) -> bytes:
        items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in self.strings)
        n = len(self.strings)
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{n}" uniqueCount="{n}">{items}</sst>'
        ).encode()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="等线"/></font>'
    '<font><b/><sz val="11"/><name val="等线"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    "</styleSheet>"
)


def make_roster(
    n: int, *, seed: int = 0, messy: bool = False, year: int = 2024, sheet: str = "企业名单"
) -> bytes:
    """An .xlsx roster of n enterprises. Clean: typed values under a one-row header at row 1.
    Messy: title and 填报单位 rows, a two-row merged header with the year above the figures,
    text numbers, odd spellings, blank rows and notes with a signature at the bottom."""
    rnd = random.Random(seed ^ 0x5EED)
    sh = _Sheet()
    width = len(HEADERS)
    last = _col(width)
    r = 1
    if messy:
        sh.add_row(r, [f"{year}年先进材料产业优质中小企业梯度培育名单"], style=2)
        sh.merges.append(f"A1:{last}1")
        r += 1
        sh.add_row(
            r, [f"填报单位（盖章）：重庆市经济和信息化委员会    填报日期：{year + 1}年1月10日"]
        )
        sh.merges.append(f"A2:{last}2")
        r += 1
        top: list[object] = []
        bottom: list[object] = []
        first_fig = HEADERS.index(FIGURES[0]) + 1
        for c, h in enumerate(HEADERS, start=1):
            if h in FIGURES:
                top.append(f"{year}年主要经济指标" if c == first_fig else None)
                bottom.append(f"{h}（{FIGURE_UNITS[h]}）")
            else:
                top.append(h)
                bottom.append(None)
                sh.merges.append(f"{_col(c)}{r}:{_col(c)}{r + 1}")
        sh.merges.append(f"{_col(first_fig)}{r}:{_col(first_fig + len(FIGURES) - 1)}{r}")
        sh.add_row(r, top, style=2)
        sh.add_row(r + 1, bottom, style=2)
        r += 2
    else:
        sh.add_row(r, list(HEADERS), style=2)
        r += 1
    for i, row in enumerate(roster_rows(n, seed=seed)):
        values = _messy(row, rnd, year) if messy else row
        sh.add_row(r, [values[h] for h in HEADERS])
        r += 1
        if messy and i % 97 == 96:
            r += 1  # a blank row left in the middle
    if messy:
        r += 1
        sh.add_row(r, ["注：经济指标为上年度数据，金额单位为万元。"])
        sh.merges.append(f"A{r}:{last}{r}")
        sh.add_row(r + 1, [None, "填报人：张三", None, "联系电话：023-68881234"])
        sh.add_row(r + 2, [None, "单位负责人（签字）："])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet)))
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        z.writestr("xl/worksheets/sheet1.xml", sh.xml(width))
        z.writestr("xl/sharedStrings.xml", sh.sst_xml())
    return buf.getvalue()
