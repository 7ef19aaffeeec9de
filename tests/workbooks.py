"""Workbooks built in memory for tests: rosters as districts make them, and hostile files."""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from tests.importers.reference import make_code

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

# ---------------------------------------------------------------------------------------------
# Ordinary rosters

HEADERS = (
    "序号",
    "企业名称",
    "统一社会信用代码",
    "所属区县",
    "细分领域",
    "企业梯度",
    "成立日期",
    "营业收入",
    "研发费用",
    "从业人员",
    "备注",
)


def good_row(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid roster row keyed by header label; `overrides` use the same labels."""
    row: dict[str, Any] = {
        "序号": i,
        "企业名称": f"重庆测试新材料{i:04d}有限公司",
        "统一社会信用代码": make_code("500104", 20_000_000 + i),
        "所属区县": "大渡口区",
        "细分领域": "镁合金",
        "企业梯度": "专精特新中小企业",
        "成立日期": "2015-06-01",
        "营业收入": 12345.6,
        "研发费用": 567.8,
        "从业人员": 120,
        "备注": "",
    }
    row.update(overrides)
    return row


def roster_xlsx(
    rows: Sequence[Mapping[str, Any]],
    *,
    headers: Sequence[str] | None = None,
    title_rows: int = 2,
    two_row_header: bool = False,
    group: str = "2024年主要经济指标",
    grouped: Sequence[str] = ("营业收入", "研发费用", "从业人员"),
    notes: Sequence[str] = (),
    sheet: str = "企业名单",
    sheets_before: Sequence[str] = (),
    title: str = "2024年先进材料企业梯度培育名单",
    unit_line: str = "填报单位（盖章）：重庆市大渡口区经济和信息化委员会",
    blank_rows_after: Sequence[int] = (),
) -> bytes:
    """A roster as districts make them, written by openpyxl.

    Title rows on top (a merged title, then a 填报单位 line), the header in one row or two
    (the `grouped` columns under a merged `group` label, every other label merged down),
    the rows (keyed by header label; a value None leaves the cell empty), blank rows after
    the given data indexes, and note or signature rows at the bottom."""
    headers = list(headers or HEADERS)
    wb = openpyxl.Workbook()
    active = wb.active
    assert active is not None
    if sheets_before:
        active.title = sheets_before[0]
        for name in sheets_before[1:]:
            wb.create_sheet(name)
        for other in wb.worksheets:
            other["A1"] = "说明：企业名单在后面的工作表中"
        ws = wb.create_sheet(sheet)
    else:
        ws = active
        ws.title = sheet
    width = len(headers)
    r = 1
    if title_rows >= 1:
        ws.cell(r, 1, title)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        r += 1
    if title_rows >= 2:
        ws.cell(r, 1, unit_line)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        r += 1
    for _ in range(max(0, title_rows - 2)):
        r += 1
    if two_row_header:
        group_cols = [c for c, h in enumerate(headers, start=1) if h in grouped]
        for c, h in enumerate(headers, start=1):
            if h in grouped:
                ws.cell(r + 1, c, h)
            else:
                ws.cell(r, c, h)
                ws.merge_cells(start_row=r, start_column=c, end_row=r + 1, end_column=c)
        if group_cols:
            ws.cell(r, group_cols[0], group)
            ws.merge_cells(
                start_row=r, start_column=group_cols[0], end_row=r, end_column=group_cols[-1]
            )
        r += 2
    else:
        for c, h in enumerate(headers, start=1):
            ws.cell(r, c, h)
        r += 1
    for i, row in enumerate(rows):
        for c, h in enumerate(headers, start=1):
            value = row.get(h)
            if value is None or value == "":
                continue
            cell = ws.cell(r, c)
            if isinstance(value, str):
                # Keep text as text: openpyxl would store "=…" as a formula.
                cell.value = value
                cell.data_type = "s"
            else:
                cell.value = value
        r += 1
        if i in blank_rows_after:
            r += 1
    for note in notes:
        ws.cell(r, 2 if note.startswith("填报人") else 1, note)
        r += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(
    rows: Sequence[Mapping[str, Any]],
    *,
    headers: Sequence[str] | None = None,
    encoding: str = "utf-8",
    preamble: Sequence[str] = (),
) -> bytes:
    """A CSV roster in the given encoding (Excel's Chinese default is GBK)."""
    import csv

    headers = list(headers or HEADERS)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for line in preamble:
        writer.writerow([line])
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
    return buf.getvalue().encode(encoding)


def set_cells(data: bytes, cells: Mapping[str, Any], *, sheet: str | None = None) -> bytes:
    """The same workbook with some cells overwritten (openpyxl; "=…" strings become formulas)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[sheet] if sheet else wb.worksheets[0]
    for ref, value in cells.items():
        ws[ref] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Raw packages: every part under the test's control

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_R}"><sheets>'
    '<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHARED_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<sst xmlns="{NS_MAIN}" count="0" uniqueCount="0"></sst>'
)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell_xml(ref: str, value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{_esc(str(value))}</t></is></c>'


def rows_xml(rows: Iterable[Sequence[Any]], *, first_row: int = 1) -> str:
    """<row> elements for the given values, from `first_row`, column A onwards."""
    out = []
    for r, values in enumerate(rows, start=first_row):
        cells = "".join(
            cell_xml(f"{get_column_letter(c)}{r}", v)
            for c, v in enumerate(values, start=1)
            if v is not None and v != ""
        )
        out.append(f'<row r="{r}">{cells}</row>')
    return "".join(out)


def sheet_xml(
    rows: str, *, dimension: str | None = None, merges: Sequence[str] = (), after: str = ""
) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    merge = ""
    if merges:
        merge = f'<mergeCells count="{len(merges)}">' + "".join(
            f'<mergeCell ref="{m}"/>' for m in merges
        )
        merge += "</mergeCells>"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_R}">{dim}<sheetData>{rows}</sheetData>'
        f"{merge}{after}</worksheet>"
    )


def package(
    sheet: str | bytes,
    *,
    name: str = "企业名单",
    parts: Mapping[str, str | bytes] | None = None,
    drop: Sequence[str] = (),
) -> bytes:
    """An .xlsx from raw parts: the given sheet1.xml, standard other parts, overrides."""
    members: dict[str, str | bytes] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK.replace("{name}", _esc(name)),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/sharedStrings.xml": SHARED_STRINGS,
        "xl/worksheets/sheet1.xml": sheet,
    }
    members.update(parts or {})
    for d in drop:
        members.pop(d, None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member, content in members.items():
            z.writestr(member, content)
    return buf.getvalue()


def small_roster_rows(n: int = 10) -> list[list[Any]]:
    """A one-row header and n valid rows, 20 columns wide (A:T), as plain values."""
    header = ["企业名称", "统一社会信用代码", "所属区县", "细分领域", "企业梯度"]
    header += [f"附加列{i}" for i in range(6, 21)]
    rows: list[list[Any]] = [header]
    for i in range(1, n + 1):
        row = good_row(i)
        values = [row["企业名称"], row["统一社会信用代码"], "大渡口区", "镁合金", "小巨人"]
        rows.append(values + [f"v{i}"] * 15)
    return rows


def small_roster_xml(n: int = 10, *, extra_rows: str = "", **kwargs: Any) -> str:
    return sheet_xml(rows_xml(small_roster_rows(n)) + extra_rows, **kwargs)


# ---------------------------------------------------------------------------------------------
# Hostile archives


@functools.cache
def zeros_deflated(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MiB) and its CRC.

    One 1 MiB segment ending in a sync flush is repeated: its back-references reach only into
    zeros, so the copies decode to zeros too, and building 1 GiB takes milliseconds."""
    mib = 1 << 20
    assert size % mib == 0
    assert size >= mib
    block = b"\0" * mib
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH)
    middle = comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH)
    last = comp.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(size // mib):
        crc = zlib.crc32(block, crc)
    return first + middle * (size // mib - 1) + last, crc


def _local_header(name: bytes, crc: int, csize: int, usize: int, *, flags: int = 0x800) -> bytes:
    return (
        struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, flags, 8, 0, 0x21, crc, csize, usize, len(name), 0
        )
        + name
    )


def _central(
    name: bytes,
    crc: int,
    csize: int,
    usize: int,
    offset: int,
    *,
    flags: int = 0x800,
    method: int = 8,
    ext_attr: int = 0,
    made_by: int = 20,
) -> bytes:
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            made_by,
            20,
            flags,
            method,
            0,
            0x21,
            crc,
            csize,
            usize,
            len(name),
            0,
            0,
            0,
            0,
            ext_attr,
            offset,
        )
        + name
    )


def _eocd(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_offset, 0)


def raw_zip(
    members: Sequence[tuple[str, bytes]],
    *,
    declared: Mapping[str, int] | None = None,
    flags: Mapping[str, int] | None = None,
    ext_attr: Mapping[str, int] | None = None,
) -> bytes:
    """A zip written byte by byte, with deflated members whose declared size, flags or
    external attributes a test may falsify."""
    body = b""
    central = b""
    for name, content in members:
        raw = name.encode()
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = comp.compress(content) + comp.flush()
        crc = zlib.crc32(content)
        usize = (declared or {}).get(name, len(content))
        flag = 0x800 | (flags or {}).get(name, 0)
        offset = len(body)
        body += _local_header(raw, crc, len(data), usize, flags=flag) + data
        central += _central(
            raw,
            crc,
            len(data),
            usize,
            offset,
            flags=flag,
            ext_attr=(ext_attr or {}).get(name, 0),
            made_by=(3 << 8) | 20,
        )
    return body + central + _eocd(len(members), len(central), len(body))


def zip_bomb(size: int = 1 << 30, *, name: str = "xl/worksheets/sheet1.xml") -> bytes:
    """An .xlsx whose sheet1.xml declares and really inflates to `size` bytes of zeros."""
    data, crc = zeros_deflated(size)
    members = [(n, c if isinstance(c, bytes) else c.encode()) for n, c in _base_parts().items()]
    body = b""
    central = b""
    for n, content in members:
        if n == name:
            continue
        raw = n.encode()
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = comp.compress(content) + comp.flush()
        offset = len(body)
        body += _local_header(raw, zlib.crc32(content), len(packed), len(content)) + packed
        central += _central(raw, zlib.crc32(content), len(packed), len(content), offset)
    raw = name.encode()
    offset = len(body)
    body += _local_header(raw, crc, len(data), size) + data
    central += _central(raw, crc, len(data), size, offset)
    return body + central + _eocd(len(members), len(central), len(body))


def lying_size_zip(real: int = 1 << 30, declared: int = 1024) -> bytes:
    """sheet1.xml declares 1 KB but its stream inflates to `real` bytes (1 GB)."""
    data, crc = zeros_deflated(real)
    members = [(n, c if isinstance(c, bytes) else c.encode()) for n, c in _base_parts().items()]
    body = b""
    central = b""
    for n, content in members:
        raw = n.encode()
        if n == "xl/worksheets/sheet1.xml":
            packed, size, c = data, declared, crc
        else:
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            packed, size, c = (
                comp.compress(content) + comp.flush(),
                len(content),
                zlib.crc32(content),
            )
        offset = len(body)
        body += _local_header(raw, c, len(packed), size) + packed
        central += _central(raw, c, len(packed), size, offset)
    return body + central + _eocd(len(members), len(central), len(body))


def _base_parts() -> dict[str, str | bytes]:
    return {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK.replace("{name}", "企业名单"),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/sharedStrings.xml": SHARED_STRINGS,
        "xl/worksheets/sheet1.xml": small_roster_xml(),
    }


def overlapping_zip(entries: int = 3, kernel_size: int = 1 << 20) -> bytes:
    """A "quoted overlap" archive (CVE-2024-0450): each entry's data quotes the next entry's
    local header in a stored deflate block and then runs on into that entry's data."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    # Incompressible content: the overlap, not the ratio, is what must be caught.
    plain = random.Random(0).randbytes(kernel_size)
    kernel = comp.compress(plain) + comp.flush()
    names = [f"xl/worksheets/sheet{i}.xml".encode() for i in range(1, entries + 1)]
    # Work backwards: entry i's sizes and CRC depend on entry i+1's local header.
    csize = len(kernel)
    usize = len(plain)
    content_crc = zlib.crc32(plain)
    headers: list[bytes] = [b""] * entries
    sizes: list[tuple[int, int, int]] = [(0, 0, 0)] * entries
    headers[-1] = _local_header(names[-1], content_crc, csize, usize)
    sizes[-1] = (content_crc, csize, usize)
    tail_plain_crc = content_crc
    for i in range(entries - 2, -1, -1):
        quoted = headers[i + 1]
        csize = 5 + len(quoted) + csize
        usize = len(quoted) + usize
        tail_plain_crc = zlib.crc32(plain, zlib.crc32(b"".join(headers[i + 1 :])))
        headers[i] = _local_header(names[i], tail_plain_crc, csize, usize)
        sizes[i] = (tail_plain_crc, csize, usize)
    body = b""
    offsets = []
    for i in range(entries):
        offsets.append(len(body))
        body += headers[i]
        if i < entries - 1:
            n = len(headers[i + 1])
            body += b"\x00" + struct.pack("<HH", n, n ^ 0xFFFF)
    body += kernel
    central = b"".join(
        _central(names[i], sizes[i][0], sizes[i][1], sizes[i][2], offsets[i])
        for i in range(entries)
    )
    return body + central + _eocd(entries, len(central), len(body))


def many_members(count: int = 10_000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, content in _base_parts().items():
            z.writestr(name, content)
        for i in range(count):
            z.writestr(f"xl/media/x{i}.bin", b"")
    return buf.getvalue()


def big_declared_total(members: int = 600, size: int = 1 << 20) -> bytes:
    """600 members of 1 MiB each: 600 MiB declared in total."""
    data, crc = zeros_deflated(size)
    body = b""
    central = b""
    parts = [(n, c if isinstance(c, bytes) else c.encode()) for n, c in _base_parts().items()]
    for n, content in parts:
        raw = n.encode()
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = comp.compress(content) + comp.flush()
        offset = len(body)
        body += _local_header(raw, zlib.crc32(content), len(packed), len(content)) + packed
        central += _central(raw, zlib.crc32(content), len(packed), len(content), offset)
    for i in range(members):
        raw = f"xl/media/blob{i}.bin".encode()
        offset = len(body)
        body += _local_header(raw, crc, len(data), size) + data
        central += _central(raw, crc, len(data), size, offset)
    count = len(parts) + members
    return body + central + _eocd(count, len(central), len(body))


# ---------------------------------------------------------------------------------------------
# Compound File Binary: legacy .xls and password-protected .xlsx


def cfb(streams: Mapping[str, bytes]) -> bytes:
    """A minimal valid CFB (v3, 512-byte sectors); each stream padded to 4096 bytes so that
    it lives in regular sectors rather than the mini stream."""
    sector = 512
    names = list(streams)
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    fat: list[int] = [0xFFFFFFFD, 0xFFFFFFFE]  # FAT sector, directory sector
    starts = []
    for data in datas:
        n = len(data) // sector
        start = len(fat)
        starts.append(start)
        fat.extend(range(start + 1, start + n))
        fat.append(0xFFFFFFFE)
    fat.extend([0xFFFFFFFF] * (sector // 4 - len(fat)))
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    difat = [0] + [0xFFFFFFFF] * 108
    struct.pack_into("<109I", header, 76, *difat)

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        e = bytearray(128)
        e[0 : len(raw)] = raw
        struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
        struct.pack_into("<III", e, 68, 0xFFFFFFFF, right, child)
        struct.pack_into("<II", e, 116, start, size)
        return bytes(e)

    entries = [entry("Root Entry", 5, 1, 0xFFFFFFFF, 0xFFFFFFFE, 0)]
    for i, (name, data) in enumerate(zip(names, datas, strict=True), start=1):
        right = i + 1 if i < len(names) else 0xFFFFFFFF
        entries.append(entry(name, 2, 0xFFFFFFFF, right, starts[i - 1], len(data)))
    directory = b"".join(entries).ljust(sector, b"\0")
    fat_sector = struct.pack(f"<{sector // 4}I", *fat)
    return bytes(header) + fat_sector + directory + b"".join(datas)


def encrypted_xlsx() -> bytes:
    """What Excel writes for a password-protected workbook: CFB with EncryptedPackage."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<encryption/>"
    return cfb({"EncryptionInfo": info, "EncryptedPackage": struct.pack("<Q", 1000) + b"\x55" * 64})


def legacy_xls() -> bytes:
    """A BIFF8 workbook stream: BOF record (0x0809) of a workbook globals substream."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06)
    return cfb({"Workbook": bof + struct.pack("<HH", 0x000A, 0)})


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def add_parts(
    data: bytes,
    parts: Mapping[str, str | bytes],
    *,
    overrides: Mapping[str, str] | None = None,
    replace_types: Mapping[str, str] | None = None,
) -> bytes:
    """The same package with extra or replaced parts and content-type overrides."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = {n: src.read(n) for n in src.namelist()}
    for name, content in parts.items():
        members[name] = content.encode() if isinstance(content, str) else content
    types = members["[Content_Types].xml"].decode()
    for old, new in (replace_types or {}).items():
        types = types.replace(old, new)
    extra = "".join(
        f'<Override PartName="/{name}" ContentType="{ctype}"/>'
        for name, ctype in (overrides or {}).items()
    )
    members["[Content_Types].xml"] = types.replace("</Types>", extra + "</Types>").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Named hostile files (RELIABILITY.md tests 3-7), for the importer's and the upload's tests

DOCTYPES = {
    "billion-laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    ),
    "quadratic": '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "' + "x" * 50_000 + '">]>',
    "external": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
}


def doctype_xlsx(part: str = "xl/worksheets/sheet1.xml", payload: str = "external") -> bytes:
    """A roster whose `part` opens with one of DOCTYPES (and uses its entities in sheet1)."""
    original = {
        "xl/worksheets/sheet1.xml": small_roster_xml(),
        "xl/sharedStrings.xml": SHARED_STRINGS,
        "xl/workbook.xml": WORKBOOK.replace("{name}", "企业名单"),
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
    }[part]
    body = original.split("?>", 1)[1]
    if part == "xl/worksheets/sheet1.xml":
        body = body.replace("<t>v1</t>", "<t>&x;&lol3;&a;</t>", 1)
    return package(small_roster_xml(), parts={part: DOCTYPES[payload] + body})


def far_cell_xlsx(ref: str = "XFD1048576") -> bytes:
    """A 5 KB roster (A1:T11) plus one value at `ref` (BXX200000 aborts python-calamine)."""
    row = int("".join(ch for ch in ref if ch.isdigit()))
    return package(small_roster_xml(extra_rows=f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>'))


def lying_dimension_xlsx() -> bytes:
    """A roster of 10 rows whose <dimension> claims the whole sheet."""
    return package(small_roster_xml(dimension="A1:XFD1048576"))


def merge_bomb_xlsx(merges: Sequence[str] = ("A1:XFD1048576",)) -> bytes:
    """A roster with a proper merged title and header plus the given merged ranges."""
    return package(small_roster_xml(merges=["A1:T1", "A2:A3", *merges]))


def truncated_xlsx() -> bytes:
    data = roster_xlsx([good_row(1)])
    return data[: len(data) // 2]
