"""Refuse hostile uploads before any parser sees them: size, zip, XML DTDs, sheet extent, merges."""

from __future__ import annotations

import codecs
import enum
import itertools
import posixpath
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as DefusedET

from importers import errors as E
from importers.errors import ImportFileError

MiB = 1 << 20

# Bytes of compressed input fed to zlib per step, and the most output one step may produce.
_IN_CHUNK = 256 * 1024
_OUT_CHUNK = 2 * MiB
# Bytes re-scanned at a chunk boundary so that a tag cut in two is still seen whole.
_OVERLAP = 64 * 1024
# A tag longer than this is not something any writer produces.
_MAX_TAG = 16 * 1024


@dataclass(frozen=True)
class Limits:
    """Upload limits (RELIABILITY.md's table); the service builds one from its settings."""

    max_upload_bytes: int = 50 * MiB
    max_zip_members: int = 1_000
    max_total_uncompressed: int = 512 * MiB
    max_member_uncompressed: int = 256 * MiB
    max_ratio: int = 100
    # The ratio rule applies only to members larger than this: small styles parts compress >100:1.
    ratio_floor: int = 1 * MiB
    max_rows: int = 200_000
    # Title, header and note rows allowed on top of max_rows in a sheet's extent.
    row_margin: int = 1_000
    max_columns: int = 512
    max_merges: int = 10_000
    max_merge_cells: int = 10_000
    # openpyxl's normal mode makes one object per merged cell, across all sheets.
    max_merged_cells_total: int = 200_000
    max_cell_chars: int = 32_767
    # Structure parts (content types, relationships, workbook.xml) are parsed whole.
    max_structure_part: int = 16 * MiB

    @property
    def max_sheet_rows(self) -> int:
        return self.max_rows + self.row_margin


class FileKind(enum.Enum):
    """What a vetted upload is."""

    XLSX = "xlsx"
    CSV = "csv"


# (min_row, min_col, max_row, max_col), 1-based and inclusive.
CellRange = tuple[int, int, int, int]


@dataclass(frozen=True)
class SheetInfo:
    """What the vetting learnt about one worksheet, for the readers that come after."""

    name: str
    part: str
    state: str = "visible"
    rows: int = 0
    merges: tuple[CellRange, ...] = ()
    # Cells holding a formula but no cached value, as (row, column), 1-based.
    formula_no_value: frozenset[tuple[int, int]] = frozenset()
    dimension: str | None = None


@dataclass(frozen=True)
class Vetted:
    """A file that passed every check: its kind, its sheets (xlsx) or its decoded text (csv)."""

    kind: FileKind
    sheets: tuple[SheetInfo, ...] = ()
    text: str | None = None
    encoding: str | None = None
    # Cell elements across every worksheet part: what openpyxl's normal mode would build.
    cells: int = 0


def assert_defusedxml() -> None:
    """Refuse to run when openpyxl would parse XML without defusedxml (OPENPYXL_DEFUSEDXML=true)."""
    import openpyxl.xml

    if openpyxl.xml.DEFUSEDXML is not True:
        raise RuntimeError(
            "openpyxl 未启用 defusedxml：请安装 defusedxml，并且不要设置 OPENPYXL_DEFUSEDXML"
            "（或将其设为 True），否则导入功能不能安全运行"
        )


def check(data: bytes, filename: str, limits: Limits | None = None) -> FileKind:
    """Vet an upload and say what it is; raise ImportFileError with a stable code otherwise."""
    return vet(data, filename, limits).kind


def vet(data: bytes, filename: str, limits: Limits | None = None) -> Vetted:
    """Every check `check` makes, returning what the readers need to know about the file."""
    limits = limits or Limits()
    if not data:
        raise ImportFileError(E.EMPTY_FILE, "文件是空的（0 字节）")
    if len(data) > limits.max_upload_bytes:
        raise ImportFileError(
            E.FILE_TOO_LARGE,
            f"文件大小 {len(data) / MiB:.1f} MB，超过上限 {limits.max_upload_bytes / MiB:.0f} MB",
        )
    ext = _extension(filename)
    if ext not in {".xlsx", ".xlsm", ".xls", ".csv", ""}:
        raise ImportFileError(
            E.UNSUPPORTED_FILE_TYPE,
            f"不支持“{ext}”文件：请上传 Excel 工作簿（.xlsx）或 CSV 文件（UTF-8 或 GBK 编码）",
        )
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _vet_zip(data, limits)
    if head == _CFB_MAGIC:
        _refuse_cfb(data)
    if ext == ".csv":
        return _vet_csv(data, limits)
    if ext == ".xls":
        raise ImportFileError(
            E.XLS_NOT_SUPPORTED,
            "这不是 .xlsx 工作簿（可能是网页或文本另存的 .xls）："
            "请在 Excel 中“另存为” .xlsx 后上传",
        )
    raise ImportFileError(
        E.NOT_XLSX,
        f"文件内容不是 Excel 工作簿（{_sniff(data)}）：请上传 .xlsx 文件",
    )


def _extension(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base:
        return ""
    return "." + base.rsplit(".", 1)[-1].strip().lower()


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "看起来是 PNG 图片"
    if data.startswith(b"%PDF"):
        return "看起来是 PDF 文件"
    if data[:3] in (b"\xff\xd8\xff",):
        return "看起来是 JPEG 图片"
    sample = data[:4096]
    if b"\x00" not in sample:
        return "看起来是文本文件，若是 CSV 请使用 .csv 扩展名"
    return "无法识别的格式"


# ---------------------------------------------------------------------------------------------
# Compound File Binary (legacy .xls and password-protected .xlsx)

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _refuse_cfb(data: bytes) -> None:
    # Directory entry names are UTF-16LE; an encrypted OOXML package holds "EncryptedPackage".
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise ImportFileError(
            E.WORKBOOK_ENCRYPTED,
            "工作簿设置了打开密码：请在 Excel 中取消密码（文件→信息→保护工作簿）后重新上传",
        )
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        raise ImportFileError(
            E.XLS_NOT_SUPPORTED,
            "暂不支持旧版 .xls 格式：请在 Excel 中“另存为” .xlsx 后上传",
        )
    raise ImportFileError(
        E.NOT_XLSX, "文件是 Office 旧版文档，不是 Excel 工作簿：请上传 .xlsx 文件"
    )


# ---------------------------------------------------------------------------------------------
# CSV


def _vet_csv(data: bytes, limits: Limits) -> Vetted:
    if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(E.CSV_ENCODING, "文件不是文本格式的 CSV：请上传 .xlsx 或 CSV 文件")
    text: str | None = None
    encoding = ""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    for candidate in [encoding] if encoding else ["utf-8", "gb18030"]:
        try:
            text = data.decode(candidate)
            encoding = candidate
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise ImportFileError(
            E.CSV_ENCODING, "无法识别 CSV 文件的编码：请另存为“CSV UTF-8”或 GBK 编码后重新上传"
        )
    if "\x00" in text:
        raise ImportFileError(E.CSV_ENCODING, "CSV 文件含有空字符（\\0），不是有效的文本文件")
    # Physical lines bound the rows; a quoted newline only makes this count larger.
    if text.count("\n") > limits.max_sheet_rows:
        raise ImportFileError(
            E.TOO_MANY_ROWS,
            f"文件行数超过上限：最多 {limits.max_rows} 行数据",
        )
    return Vetted(kind=FileKind.CSV, text=text, encoding=encoding)


# ---------------------------------------------------------------------------------------------
# Zip structure, checked by hand: CPython 3.11.7's zipfile does not refuse overlapping entries
# (CVE-2024-0450), and python-calamine's Rust reader trusts declared sizes less than we would like.

_EOCD = b"PK\x05\x06"
_CDH = b"PK\x01\x02"
_LFH = b"PK\x03\x04"
_Z64_LOCATOR = b"PK\x06\x07"
_Z64_EOCD = b"PK\x06\x06"
_DATA_DESCRIPTOR = b"PK\x07\x08"
_U32 = 0xFFFFFFFF


@dataclass(slots=True)
class _Entry:
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int
    data_start: int = 0
    end: int = 0


def _corrupt(detail: str) -> ImportFileError:
    return ImportFileError(
        E.CORRUPT_WORKBOOK, f"工作簿文件已损坏或不完整（{detail}）：请重新保存后上传"
    )


def _bomb(detail: str) -> ImportFileError:
    return ImportFileError(E.ZIP_BOMB, f"文件解压后异常巨大，已拒绝（{detail}）")


def _unsafe(detail: str) -> ImportFileError:
    return ImportFileError(E.UNSAFE_ZIP_ENTRY, f"工作簿压缩包含有不安全的条目（{detail}），已拒绝")


def _read_entries(data: bytes, limits: Limits) -> list[_Entry]:
    try:
        return _parse_directory(data, limits)
    except struct.error as exc:  # a record that runs past the end of the file
        raise _corrupt("压缩包结构不完整") from exc


def _parse_directory(data: bytes, limits: Limits) -> list[_Entry]:
    n = len(data)
    if n < 22:
        raise _corrupt("文件过短")
    tail_start = max(0, n - 22 - 0xFFFF)
    pos = data.rfind(_EOCD, tail_start, n - 18)
    while pos >= 0 and pos + 22 + struct.unpack_from("<H", data, pos + 20)[0] != n:
        pos = data.rfind(_EOCD, tail_start, pos)
    if pos < 0:
        raise _corrupt("找不到压缩包目录，文件可能被截断")
    disk, cd_disk, n_disk, n_total, cd_size, cd_offset = struct.unpack_from(
        "<HHHHII", data, pos + 4
    )
    cd_end = pos
    if n_total == 0xFFFF or cd_size == _U32 or cd_offset == _U32:
        loc = pos - 20
        if loc < 0 or data[loc : loc + 4] != _Z64_LOCATOR:
            raise _corrupt("ZIP64 目录定位记录缺失")
        _sig, _z64_disk, z64_off, _disks = struct.unpack_from("<IIQI", data, loc)
        if z64_off + 56 > loc or data[z64_off : z64_off + 4] != _Z64_EOCD:
            raise _corrupt("ZIP64 目录记录无效")
        (_size, _made, _need, disk, cd_disk, n_disk, n_total, cd_size, cd_offset) = (
            struct.unpack_from("<QHHIIQQQQ", data, z64_off + 4)
        )
        cd_end = z64_off
    if disk or cd_disk or n_disk != n_total:
        raise _corrupt("分卷压缩包")
    if n_total > limits.max_zip_members:
        raise _bomb(f"压缩包有 {n_total} 个条目，上限 {limits.max_zip_members} 个")
    if cd_offset + cd_size != cd_end:
        raise _corrupt("压缩包目录位置不一致")

    entries: list[_Entry] = []
    names: set[str] = set()
    total = 0
    p = cd_offset
    for _ in range(n_total):
        if p + 46 > cd_end or data[p : p + 4] != _CDH:
            raise _corrupt("压缩包目录条目无效")
        (_made, _need, flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen, disk_start) = (
            struct.unpack_from("<HHHHHHIIIHHHH", data, p + 4)
        )
        ext_attr, offset = struct.unpack_from("<II", data, p + 38)
        raw_name = data[p + 46 : p + 46 + nlen]
        extra = data[p + 46 + nlen : p + 46 + nlen + xlen]
        p += 46 + nlen + xlen + clen
        if p > cd_end:
            raise _corrupt("压缩包目录条目越界")
        if usize == _U32 or csize == _U32 or offset == _U32:
            usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
        try:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        except UnicodeDecodeError as exc:
            raise _corrupt("条目名称编码无效") from exc
        shown = name[:80]
        if disk_start:
            raise _corrupt("分卷压缩包")
        if flags & 0x41 or method == 99:
            raise _unsafe(f"加密条目“{shown}”")
        if _unsafe_name(name):
            raise _unsafe(f"条目名称“{shown}”含有“..”、绝对路径或空字符")
        if (ext_attr >> 16) & 0o170000 == 0o120000:
            raise _unsafe(f"符号链接条目“{shown}”")
        key = name.replace("\\", "/")
        if key in names:
            raise _unsafe(f"重复的条目“{shown}”")
        names.add(key)
        if method not in (0, 8):
            raise _corrupt(f"条目“{shown}”使用了不支持的压缩方式 {method}")
        if method == 0 and csize != usize:
            raise _corrupt(f"条目“{shown}”的大小不一致")
        if usize > limits.max_member_uncompressed:
            raise _bomb(
                f"“{shown}”解压后 {usize / MiB:.0f} MB，单个条目上限 "
                f"{limits.max_member_uncompressed / MiB:.0f} MB"
            )
        total += usize
        if total > limits.max_total_uncompressed:
            raise _bomb(f"解压后总大小超过上限 {limits.max_total_uncompressed / MiB:.0f} MB")
        if usize > limits.ratio_floor and usize > csize * limits.max_ratio:
            ratio = usize / max(csize, 1)
            raise _bomb(f"“{shown}”压缩比 {ratio:.0f}:1，上限 {limits.max_ratio}:1")
        entries.append(_Entry(name, raw_name, flags, method, crc, csize, usize, offset))
    if p != cd_end:
        raise _corrupt("压缩包目录长度不一致")

    for e in entries:
        _locate(data, e, cd_offset)
    # Each entry's local header, data and descriptor must own its bytes alone: overlapping
    # entries are how non-recursive zip bombs get their ratio.
    ordered = sorted(entries, key=lambda e: e.offset)
    for prev, cur in itertools.pairwise(ordered):
        if cur.offset < prev.end:
            raise _bomb(f"条目“{prev.name[:80]}”与“{cur.name[:80]}”的数据相互重叠")
    return entries


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if tag == 1:
            j = 0
            values = []
            for current in (usize, csize, offset):
                if current == _U32:
                    if j + 8 > len(body):
                        raise _corrupt("ZIP64 扩展字段不完整")
                    values.append(struct.unpack_from("<Q", body, j)[0])
                    j += 8
                else:
                    values.append(current)
            return values[0], values[1], values[2]
        i += 4 + size
    raise _corrupt("缺少 ZIP64 扩展字段")


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return True
    return ".." in path.split("/")


def _locate(data: bytes, e: _Entry, cd_offset: int) -> None:
    """Find the entry's data through its local header, which must agree with the directory."""
    off = e.offset
    if off + 30 > cd_offset or data[off : off + 4] != _LFH:
        raise _corrupt(f"条目“{e.name[:80]}”的本地文件头无效")
    (_need, flags, method, _t, _d, crc, csize, usize, nlen, xlen) = struct.unpack_from(
        "<HHHHHIIIHH", data, off + 4
    )
    if data[off + 30 : off + 30 + nlen] != e.raw_name:
        raise _corrupt(f"条目“{e.name[:80]}”的本地名称与目录不一致")
    if flags & 0x41:
        raise _unsafe(f"加密条目“{e.name[:80]}”")
    if method != e.method:
        raise _corrupt(f"条目“{e.name[:80]}”的压缩方式与目录不一致")
    if (
        not flags & 0x08
        and _U32 not in (csize, usize)
        and (csize, usize, crc)
        != (
            e.csize,
            e.usize,
            e.crc,
        )
    ):
        raise _corrupt(f"条目“{e.name[:80]}”的大小与目录不一致")
    e.data_start = off + 30 + nlen + xlen
    end = e.data_start + e.csize
    if flags & 0x08:
        zip64 = e.csize >= _U32 or e.usize >= _U32
        end += (4 if data[end : end + 4] == _DATA_DESCRIPTOR else 0) + (20 if zip64 else 12)
    if end > cd_offset:
        raise _corrupt(f"条目“{e.name[:80]}”的数据越界")
    e.end = end


def _inflate(data: bytes, e: _Entry) -> Iterator[bytes]:
    """The member's bytes in bounded chunks; stops at once when it outgrows its declared size."""
    view = memoryview(data)[e.data_start : e.data_start + e.csize]
    crc = 0
    produced = 0
    if e.method == 0:
        for i in range(0, len(view), _OUT_CHUNK):
            chunk = bytes(view[i : i + _OUT_CHUNK])
            crc = zlib.crc32(chunk, crc)
            yield chunk
        produced = len(view)
    else:
        d = zlib.decompressobj(-15)
        pos = 0
        tail = b""
        while not d.eof:
            if tail:
                src: bytes | memoryview = tail
            elif pos < len(view):
                src = view[pos : pos + _IN_CHUNK]
                pos += len(src)
            else:
                src = b""
            try:
                out = d.decompress(src, _OUT_CHUNK)
            except zlib.error as exc:
                raise _corrupt(f"条目“{e.name[:80]}”解压失败") from exc
            tail = d.unconsumed_tail
            if out:
                produced += len(out)
                if produced > e.usize:
                    raise _bomb(f"“{e.name[:80]}”实际解压大小超过其声明的 {e.usize} 字节")
                crc = zlib.crc32(out, crc)
                yield out
            elif not src:
                break
        if not d.eof or d.unused_data:
            raise _corrupt(f"条目“{e.name[:80]}”的压缩数据不完整")
    if produced != e.usize or crc != e.crc:
        raise _corrupt(f"条目“{e.name[:80]}”的校验失败")


def _read_whole(data: bytes, e: _Entry, limits: Limits) -> bytes:
    if e.usize > limits.max_structure_part:
        raise _corrupt(f"结构部件“{e.name[:80]}”过大")
    scanner = _XmlScanner(e.name, limits, sheet=False)
    parts = []
    for chunk in _inflate(data, e):
        scanner.feed(chunk)
        parts.append(chunk)
    scanner.finish()
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# XML parts: no DTD anywhere, UTF-8 only, and worksheets bounded before a reader materialises them.

_ALLOWED_ENCODINGS = {
    b"utf-8",
    b"utf8",
    b"us-ascii",
    b"ascii",
    b"iso-8859-1",
    b"latin-1",
    b"latin1",
}
_XML_DECL = re.compile(rb"\s*<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_XML_NAMES = (".xml", ".rels", ".vml")


def _col_le(limit: int) -> bytes:
    """A regex matching column letters (bijective base 26, upper case) up to `limit`."""
    letters = _col_letters(limit)
    alts = [b"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for i, ch in enumerate(letters):
        if ch > "A":
            rest = b"[A-Z]{%d}" % (len(letters) - i - 1) if i < len(letters) - 1 else b""
            alts.append(letters[:i].encode() + b"[A-%c]" % (ord(ch) - 1) + rest)
    alts.append(letters.encode())
    return b"(?:" + b"|".join(alts) + b")"


def _row_le(limit: int) -> bytes:
    """A regex matching decimal numbers without leading zeros from 1 up to `limit`."""
    digits = str(limit)
    alts = [b"[1-9][0-9]{0,%d}" % (len(digits) - 2)] if len(digits) > 1 else []
    for i, ch in enumerate(digits):
        low = "1" if i == 0 else "0"
        if ch > low:
            rest = b"[0-9]{%d}" % (len(digits) - i - 1) if i < len(digits) - 1 else b""
            alts.append(digits[:i].encode() + b"[%c-%c]" % (ord(low), ord(ch) - 1) + rest)
    alts.append(digits.encode())
    return b"(?:" + b"|".join(alts) + b")"


def _col_letters(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


_PREFIX = rb"(?:[^\s<>/!?=\"':]{1,64}:)?"
_ATTR_R = re.compile(rb"\sr\s*=\s*([\"'])(.*?)\1", re.S)
_ATTR_REF = re.compile(rb"\sref\s*=\s*([\"'])(.*?)\1", re.S)
_ATTR_T = re.compile(rb"\st\s*=\s*([\"'])(.*?)\1", re.S)
_REF = re.compile(r"([A-Za-z]{1,10})([0-9]{1,12})")
_ROWREF = re.compile(r"([A-Za-z]{0,10})([0-9]{1,12})")
_RANGE = re.compile(r"\$?([A-Za-z]{1,10})\$?([0-9]{1,12})(?::\$?([A-Za-z]{1,10})\$?([0-9]{1,12}))?")
_MERGE = re.compile(rb"<" + _PREFIX + rb"mergeCell(?=[\s/>])([^<>]*)>")
_HYPERLINK = re.compile(rb"<" + _PREFIX + rb"hyperlink(?=[\s/>])([^<>]*)>")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension(?=[\s/>])([^<>]*)>")
_COL = re.compile(rb"<" + _PREFIX + rb"col(?=[\s/>])([^<>]*)>")
_ATTR_MAX = re.compile(rb"\smax\s*=\s*([\"'])\s*([0-9]{1,12})\s*\1")
# Excel's own last column (XFD). Excel writes <col max="16384"> for hidden unused columns, so
# that is allowed; a column declaration past it, or more declarations than columns, is not a
# spreadsheet Excel made (openpyxl's read-only reader took 12 s over 10^6 of them).
EXCEL_COLUMNS = 16_384
_PREFIXED_CELL = re.compile(rb":(?:c|row)(?=[\s/>])")
_FORMULA_CELL = re.compile(
    rb"<c(\s[^<>]*)?>\s*<f(?:\s[^<>]*)?(?:/>|>[^<]*</f>)\s*"
    rb"(<v(?:\s[^<>]*)?(?:/>|>([^<]*)</v>))?\s*</c>"
)
_TOKEN = re.compile(rb"<(/?)" + _PREFIX + rb"(c|row)(?=[\s/>])([^<>]*)>")


def _letters_to_col(letters: str) -> int:
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col


class _XmlScanner:
    """Streams one XML part: refuses DTDs and non-UTF-8 encodings; for worksheets also counts
    rows and bounds every cell reference, merged range and formula cell without a value."""

    def __init__(self, part: str, limits: Limits, *, sheet: bool) -> None:
        self.part = part
        self.limits = limits
        self.sheet = sheet
        self.carry = b""
        self.base = 0
        self.started = False
        self.rows = 0
        self.merges: list[CellRange] = []
        self.merged_cells = 0
        self.hyperlinks = 0
        self.col_elements = 0
        self.cells = 0
        self.formula_no_value: set[tuple[int, int]] = set()
        self.needs_slow_scan = False
        self.dimension: str | None = None
        safe = _col_le(limits.max_columns) + _row_le(limits.max_sheet_rows)
        # A <c> or <row> start tag without a plainly safe r="…" among its first attributes: rare
        # in files from Excel, openpyxl, XlsxWriter or LibreOffice, so Python sees few of them.
        other = rb' (?!r=)[a-zA-Z]{1,3}="[^"<>]{0,16}"'
        self._odd_cell = re.compile(
            rb"<c(?=[\s/>])"
            + b"".join(rb"(?!" + other * n + rb' r="' + safe + rb'")' for n in range(3))
        )
        self._odd_row = re.compile(
            rb'<row(?=[\s/>])(?! r="' + _row_le(limits.max_sheet_rows) + rb'")'
        )

    def feed(self, chunk: bytes, final: bool = False) -> None:
        buf = self.carry + chunk if self.carry else chunk
        if not self.started:
            if not buf:
                return
            if len(buf) < 256 and not final:
                self.carry = buf
                return
            self._check_prolog(buf)
            self.started = True
            if self.sheet:
                m = _DIMENSION.search(buf, 0, min(len(buf), _OVERLAP))
                if m:
                    ref = _ATTR_REF.search(m.group(1))
                    if ref:
                        self.dimension = ref.group(2).decode("ascii", "replace")[:64]
        limit = len(buf) if final else max(0, len(buf) - _OVERLAP)
        self._check_generic(buf, limit)
        if self.sheet:
            self._check_sheet(buf, limit)
        self.carry = buf[limit:]
        self.base += limit

    def finish(self) -> None:
        self.feed(b"", final=True)

    def _check_prolog(self, buf: bytes) -> None:
        if (
            buf.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"\x00"))
            or buf[1:2] == b"\x00"
        ):
            raise _corrupt(f"部件“{self.part[:80]}”不是 UTF-8 编码")
        body = buf[3:] if buf.startswith(codecs.BOM_UTF8) else buf
        m = _XML_DECL.match(body)
        if m and m.group(1).lower() not in _ALLOWED_ENCODINGS:
            raise _corrupt(f"部件“{self.part[:80]}”使用了不支持的编码 {m.group(1).decode()!r}")

    def _check_generic(self, buf: bytes, limit: int) -> None:
        if b"\x00" in buf:
            raise _corrupt(f"部件“{self.part[:80]}”含有空字符")
        i = buf.find(b"<!", 0, limit + 1)
        while i >= 0:
            if not (buf.startswith(b"<!--", i) or buf.startswith(b"<![CDATA[", i)):
                raise ImportFileError(
                    E.XML_DTD_FORBIDDEN,
                    f"工作簿部件“{self.part[:80]}”含有 DOCTYPE/实体声明，出于安全原因已拒绝",
                )
            i = buf.find(b"<!", i + 2, limit + 1)

    def _too_far(self, row: int, col: int, ref: str) -> None:
        lim = self.limits
        if row > lim.max_sheet_rows:
            if self.rows > lim.max_rows:
                raise ImportFileError(
                    E.TOO_MANY_ROWS, f"工作表行数超过上限：最多 {lim.max_rows} 行数据"
                )
            raise ImportFileError(
                E.SHEET_TOO_LARGE,
                f"工作表范围过大：单元格 {ref[:20]} 超出第 {lim.max_sheet_rows} 行",
            )
        if col > lim.max_columns:
            raise ImportFileError(
                E.SHEET_TOO_LARGE,
                f"工作表范围过大：单元格 {ref[:20]} 超出第 {lim.max_columns} 列",
            )

    def _count_rows(self, n: int) -> None:
        self.rows += n
        if self.rows > self.limits.max_sheet_rows:
            raise ImportFileError(
                E.TOO_MANY_ROWS,
                f"工作表行数超过上限：最多 {self.limits.max_rows} 行数据",
            )

    def _tag_attrs(self, buf: bytes, start: int) -> bytes | None:
        end = buf.find(b">", start, start + _MAX_TAG)
        if end < 0:
            if len(buf) - start >= _MAX_TAG:
                raise _corrupt(f"部件“{self.part[:80]}”含有超长的标签")
            return None
        return buf[start:end]

    def _check_sheet(self, buf: bytes, limit: int) -> None:
        self._count_rows(buf.count(b"<row", 0, limit + 3))
        self.cells += buf.count(b"<c", 0, limit + 1)
        for rx, is_cell in ((self._odd_cell, True), (self._odd_row, False)):
            for m in rx.finditer(buf):
                if m.start() >= limit:
                    break
                tag = self._tag_attrs(buf, m.start())
                if tag is None:
                    self.needs_slow_scan = True
                    continue
                attr = _ATTR_R.search(tag)
                if attr is None:
                    # Readers place a cell without r= after the previous one: only a pass that
                    # follows every cell in order can bound where it lands.
                    self.needs_slow_scan = True
                    continue
                self._check_ref(attr.group(2), is_cell)
        if _PREFIXED_CELL.search(buf, 0, limit + 5):
            self.needs_slow_scan = True
        if b"<f" in buf:
            self._find_formulas(buf, limit)
        if b"col" in buf:
            for m in _COL.finditer(buf):
                if m.start() >= limit:
                    break
                self._add_col(m.group(1))
        if b"mergeCell" in buf:
            for m in _MERGE.finditer(buf):
                if m.start() >= limit:
                    break
                self._add_merge(m.group(1))
        if b"hyperlink" in buf:
            # openpyxl's normal mode gives every cell of a hyperlink's range its own object.
            for m in _HYPERLINK.finditer(buf):
                if m.start() >= limit:
                    break
                self._add_hyperlink(m.group(1))

    def _check_ref(self, raw: bytes, is_cell: bool) -> tuple[int, int]:
        text = raw.decode("ascii", "replace")
        m = (_REF if is_cell else _ROWREF).fullmatch(text)
        if m is None:
            raise _corrupt(f"工作表“{self.part[:80]}”含有无效的单元格引用“{text[:20]}”")
        col = _letters_to_col(m.group(1)) if m.group(1) else 0
        row = int(m.group(2))
        if row == 0:
            raise _corrupt(f"工作表“{self.part[:80]}”含有无效的单元格引用“{text[:20]}”")
        self._too_far(row, col, text)
        return row, col

    def _find_formulas(self, buf: bytes, limit: int) -> None:
        for m in _FORMULA_CELL.finditer(buf):
            if m.start() >= limit:
                break
            attrs = m.group(1) or b""
            kind = _ATTR_T.search(attrs)
            value = m.group(3)
            typ = kind.group(2) if kind else b"n"
            if m.group(2) is not None and (value or typ in (b"str", b"inlineStr")):
                continue
            attr = _ATTR_R.search(attrs)
            if attr is None or len(self.formula_no_value) >= 100_000:
                continue
            row, col = self._check_ref(attr.group(2), True)
            self.formula_no_value.add((row, col))

    def _area(self, attrs: bytes, what: str) -> tuple[str, CellRange]:
        ref = _ATTR_REF.search(attrs)
        text = ref.group(2).decode("ascii", "replace") if ref else ""
        m = _RANGE.fullmatch(text)
        if m is None:
            raise ImportFileError(
                E.MERGE_TOO_LARGE if ":" in text else E.CORRUPT_WORKBOOK,
                f"工作表含有无法识别的{what}区域“{text[:30]}”",
            )
        c1, r1 = _letters_to_col(m.group(1)), int(m.group(2))
        c2 = _letters_to_col(m.group(3)) if m.group(3) else c1
        r2 = int(m.group(4)) if m.group(4) else r1
        return text, (min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))

    def _add_col(self, attrs: bytes) -> None:
        self.col_elements += 1
        if self.col_elements > EXCEL_COLUMNS:
            raise ImportFileError(
                E.SHEET_TOO_LARGE,
                f"工作表的列定义超过 {EXCEL_COLUMNS} 个（Excel 最多 {EXCEL_COLUMNS} 列）",
            )
        last = _ATTR_MAX.search(attrs)
        if last is not None and int(last.group(2)) > EXCEL_COLUMNS:
            raise ImportFileError(
                E.SHEET_TOO_LARGE,
                f"工作表的列定义到第 {int(last.group(2))} 列，超出 Excel 的 {EXCEL_COLUMNS} 列",
            )

    def _add_hyperlink(self, attrs: bytes) -> None:
        lim = self.limits
        text, (r1, c1, r2, c2) = self._area(attrs, "超链接")
        cells = (r2 - r1 + 1) * (c2 - c1 + 1)
        self.hyperlinks += 1
        if cells > lim.max_merge_cells or self.hyperlinks > lim.max_merges:
            raise ImportFileError(
                E.SHEET_TOO_LARGE,
                f"超链接区域过大或过多（{text[:30]}）：每个最多 {lim.max_merge_cells} 个单元格，"
                f"最多 {lim.max_merges} 个",
            )
        self.merged_cells += cells

    def _add_merge(self, attrs: bytes) -> None:
        lim = self.limits
        text, (r1, c1, r2, c2) = self._area(attrs, "合并单元格")
        cells = (r2 - r1 + 1) * (c2 - c1 + 1)
        if cells > lim.max_merge_cells:
            raise ImportFileError(
                E.MERGE_TOO_LARGE,
                f"合并单元格 {text[:30]} 含 {cells} 个单元格，上限 {lim.max_merge_cells} 个",
            )
        if len(self.merges) >= lim.max_merges:
            raise ImportFileError(E.MERGE_TOO_LARGE, f"合并单元格区域超过 {lim.max_merges} 个")
        self.merged_cells += cells
        self.merges.append((r1, c1, r2, c2))

    def slow_scan(self, chunks: Iterator[bytes]) -> None:
        """Follow every <row> and <c> in order, as the readers do, when some lack an r=."""
        row = 0
        col = 0
        carry = b""
        for chunk in chunks:
            buf = carry + chunk
            pos = 0
            for m in _TOKEN.finditer(buf):
                closing, name, attrs = m.group(1), m.group(2), m.group(3)
                pos = m.end()
                if name == b"row":
                    if closing:
                        col = 0
                        continue
                    attr = _ATTR_R.search(attrs)
                    row = self._check_ref(attr.group(2), False)[0] if attr else row + 1
                    col = 0
                    self._too_far(row, 0, f"第{row}行")
                elif not closing:
                    attr = _ATTR_R.search(attrs)
                    if attr:
                        col = self._check_ref(attr.group(2), True)[1]
                    else:
                        col += 1
                    self._too_far(max(row, 1), col, f"第{max(row, 1)}行第{col}列")
            carry = buf[max(pos, len(buf) - _MAX_TAG) :]


# ---------------------------------------------------------------------------------------------
# The package: content types, relationships, workbook, then every member.

_WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
_XLSB_TYPE = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
_SHEET_FOLDERS = ("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/", "xl/macrosheets/")
_SHEET_RELS = ("/worksheet", "/dialogsheet", "/xlMacrosheet", "/xlIntlMacrosheet", "/chartsheet")
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"


@dataclass
class _Package:
    data: bytes
    limits: Limits
    entries: dict[str, _Entry] = field(default_factory=dict)

    def xml(self, name: str) -> Element | None:
        e = self.entries.get(name)
        if e is None:
            return None
        raw = _read_whole(self.data, e, self.limits)
        try:
            root: Element = DefusedET.fromstring(raw, forbid_dtd=True)
        except Exception as exc:  # defusedxml and expat raise several unrelated types
            raise _corrupt(f"部件“{name[:80]}”不是有效的 XML") from exc
        return root


def _rels_path(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _resolve(source: str, target: str) -> str | None:
    target = target.replace("\\", "/")
    if target.startswith("/"):
        path = posixpath.normpath(target.lstrip("/"))
    else:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
    if path.startswith("..") or path.startswith("/"):
        return None
    return path


def _relationships(pkg: _Package, part: str) -> list[tuple[str, str, str | None]]:
    root = pkg.xml(_rels_path(part))
    out: list[tuple[str, str, str | None]] = []
    if root is None:
        return out
    for rel in root.iter(f"{{{_NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        out.append((rel.get("Id", ""), rel.get("Type", ""), _resolve(part, rel.get("Target", ""))))
    return out


def _vet_zip(data: bytes, limits: Limits) -> Vetted:
    entries = _read_entries(data, limits)
    pkg = _Package(data, limits, {e.name.replace("\\", "/"): e for e in entries})
    if "[Content_Types].xml" not in pkg.entries:
        if "mimetype" in pkg.entries:
            raise ImportFileError(
                E.NOT_XLSX, "这是 OpenDocument（.ods 等）文件：请在表格软件中另存为 .xlsx 后上传"
            )
        if "xl/workbook.xml" in pkg.entries:
            raise _corrupt("缺少 [Content_Types].xml")
        raise ImportFileError(E.NOT_XLSX, "文件是压缩包，但不是 Excel 工作簿：请上传 .xlsx 文件")
    types = pkg.xml("[Content_Types].xml")
    assert types is not None
    overrides: dict[str, str] = {}
    for o in types.iter(f"{{{_NS_CT}}}Override"):
        overrides[o.get("PartName", "").lstrip("/")] = o.get("ContentType", "")
    workbooks = [p for p, t in overrides.items() if t in _WORKBOOK_TYPES]
    if not workbooks:
        if _XLSB_TYPE in overrides.values():
            raise ImportFileError(E.NOT_XLSX, "暂不支持 .xlsb 二进制工作簿：请另存为 .xlsx 后上传")
        raise ImportFileError(
            E.NOT_XLSX, "文件是 Office 文档，但不是 Excel 工作簿：请上传 .xlsx 文件"
        )
    primary = None
    for _id, typ, target in _relationships(pkg, ""):
        if typ.endswith("/officeDocument") and target in pkg.entries:
            primary = target
    primary = primary or workbooks[0]
    if primary not in pkg.entries:
        raise _corrupt("缺少工作簿部件 workbook.xml")

    # Readers find the workbook differently (python-calamine by its usual path, openpyxl by content
    # type): bound every worksheet any of them could open.
    sheet_parts: set[str] = set()
    sheets: list[tuple[str, str, str]] = []
    for wb_part in dict.fromkeys([primary, *workbooks, "xl/workbook.xml"]):
        if wb_part not in pkg.entries:
            continue
        rels = {rid: (typ, target) for rid, typ, target in _relationships(pkg, wb_part)}
        for _rid, (typ, target) in rels.items():
            if typ.endswith(_SHEET_RELS) and target:
                sheet_parts.add(target)
        if wb_part != primary:
            continue
        root = pkg.xml(wb_part)
        assert root is not None
        for s in root.iter(f"{{{_NS_MAIN}}}sheet"):
            rid = s.get(f"{{{_NS_R}}}id", "")
            typ, target = rels.get(rid, ("", None))
            if not typ.endswith("/worksheet") or target is None:
                continue
            if target not in pkg.entries:
                raise _corrupt(f"工作表“{s.get('name', '')[:40]}”的部件缺失")
            sheets.append((s.get("name", ""), target, s.get("state", "visible")))

    scans: dict[str, _XmlScanner] = {}
    for name, e in pkg.entries.items():
        if name.endswith("/"):
            if e.usize:
                raise _corrupt(f"目录条目“{name[:80]}”含有数据")
            continue
        # python-calamine finds sheets its own way (a target is taken under xl/ unless it
        # starts with xl/), but only under these folders: bound all of them too.
        is_sheet = name in sheet_parts or (
            name.startswith(_SHEET_FOLDERS) and "/_rels/" not in name
        )
        scanner: _XmlScanner | None = None
        if is_sheet or name.lower().endswith(_XML_NAMES):
            scanner = _XmlScanner(name, limits, sheet=is_sheet)
        first = True
        for chunk in _inflate(data, e):
            if first and scanner is None and _looks_like_xml(chunk):
                scanner = _XmlScanner(name, limits, sheet=False)
            first = False
            if scanner is not None:
                scanner.feed(chunk)
        if scanner is not None:
            scanner.finish()
            if is_sheet:
                scans[name] = scanner
    total_merged = sum(s.merged_cells for s in scans.values())
    if total_merged > limits.max_merged_cells_total:
        raise ImportFileError(
            E.MERGE_TOO_LARGE,
            f"合并单元格（含超链接区域）共 {total_merged} 个，超过上限 "
            f"{limits.max_merged_cells_total} 个",
        )
    for name, scanner in scans.items():
        if scanner.needs_slow_scan:
            scanner.slow_scan(_inflate(data, pkg.entries[name]))

    infos = []
    for sheet_name, part, state in sheets:
        scan = scans[part]
        infos.append(
            SheetInfo(
                name=sheet_name,
                part=part,
                state=state,
                rows=scan.rows,
                merges=tuple(scan.merges),
                formula_no_value=frozenset(scan.formula_no_value),
                dimension=scan.dimension,
            )
        )
    cells = sum(s.cells for s in scans.values())
    return Vetted(kind=FileKind.XLSX, sheets=tuple(infos), cells=cells)


def _looks_like_xml(chunk: bytes) -> bool:
    head = chunk[:64]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or head[1:2] == b"\x00":
        return head.lstrip(b"\xff\xfe\x00").startswith(b"<")
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    return head.lstrip().startswith(b"<")
