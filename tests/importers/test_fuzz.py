"""Mutated rosters give only the importer's own error (RELIABILITY test 7's fuzz run)."""

from __future__ import annotations

import io
import random
import time
import zipfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importers import roster
from importers.errors import FILE_ERROR_CODES, ImportFileError
from importers.vocab import Vocabulary
from tests import workbooks as W

MUTATIONS = 10_000


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        at = rnd.randrange(len(out))
        kind = rnd.randrange(6)
        if kind == 0:
            out[at] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            out[at] = rnd.choice([0x00, 0xFF, 0x7F, 0x80, 0x3C, 0x22])
        elif kind == 2:
            del out[at : at + rnd.randint(1, 64)]
        elif kind == 3:
            out[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif kind == 4:
            end = min(len(out), at + rnd.randint(1, 256))
            out[at:at] = out[at:end]
        else:
            struct_at = rnd.randrange(max(1, len(out) - 4))
            out[struct_at : struct_at + 4] = rnd.choice(
                [b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"PK\x03\x04", b"\x00\x00\x00\x7f"]
            )
    return bytes(out)


def test_byte_level_mutations(vocab: Vocabulary) -> None:
    seed = W.roster_xlsx([W.good_row(i) for i in range(1, 4)], two_row_header=True)
    rnd = random.Random(20241123)
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for _ in range(MUTATIONS):
        data = _mutate(seed, rnd)
        t0 = time.perf_counter()
        try:
            roster.parse(data, "名单.xlsx", vocab, data_year=2024)
            key = "ok"
        except ImportFileError as exc:
            key = exc.code
        assert time.perf_counter() - t0 < 2
        outcomes[key] = outcomes.get(key, 0) + 1
    assert sum(outcomes.values()) == MUTATIONS
    assert time.perf_counter() - started < 40


def _xlsx_parts() -> dict[str, bytes]:
    data = W.roster_xlsx([W.good_row(i) for i in range(1, 4)], two_row_header=True)
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n: z.read(n) for n in z.namelist()}


PARTS = _xlsx_parts()
TOKENS = [
    b"<",
    b">",
    b"/>",
    b'"',
    b"&",
    b"&#0;",
    b"<!DOCTYPE x>",
    b' r="XFD1048576"',
    b' r="A0"',
    b' r="zz1"',
    b"<c>",
    b"<row>",
    b"</row>",
    b"<f>1</f>",
    b'<mergeCell ref="A1:B2"/>',
    b'<mergeCell ref="A1:Z9999"/>',
    b"\xff\xfe",
    b"\x00",
    b'encoding="UTF-16"',
    b"<v>1e308</v>",
    b'<c r="B9" t="s"><v>999</v></c>',
]


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    part=st.sampled_from(sorted(PARTS)),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.sampled_from(TOKENS), st.integers(0, 8)),
        min_size=1,
        max_size=4,
    ),
)
def test_xml_level_mutations(
    part: str, edits: list[tuple[float, bytes, int]], vocab: Vocabulary
) -> None:
    """Edits inside the parts of a well-formed zip, so that the XML readers see them."""
    content = bytearray(PARTS[part])
    for where, token, cut in edits:
        at = int(where * len(content))
        content[at : at + cut] = token
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in PARTS.items():
            z.writestr(name, bytes(content) if name == part else body)
    _parse_or_refuse(buf.getvalue(), "名单.xlsx", vocab)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(noise=st.binary(max_size=400), encoding=st.sampled_from(["utf-8", "gbk"]))
def test_csv_mutations(noise: bytes, encoding: str, vocab: Vocabulary) -> None:
    data = W.csv_bytes([W.good_row(1), W.good_row(2)], encoding=encoding)
    cut = len(noise) % max(1, len(data))
    _parse_or_refuse(data[:cut] + noise + data[cut:], "名单.csv", vocab)


def _parse_or_refuse(data: bytes, filename: str, vocab: Vocabulary) -> Any:
    try:
        return roster.parse(data, filename, vocab, data_year=2024)
    except ImportFileError as exc:
        _check_refusal(exc)
        return None


def _check_refusal(exc: ImportFileError) -> None:
    assert exc.code in FILE_ERROR_CODES
    assert exc.message


def test_member_level_mutations_with_either_reader(vocab: Vocabulary) -> None:
    """Byte mutations inside one member of a zip that stays valid, so the XML readers see them."""
    rnd = random.Random(7)
    names = sorted(PARTS)
    for i in range(1_500):
        part = rnd.choice(names)
        content = _mutate(PARTS[part], rnd)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, body in PARTS.items():
                z.writestr(name, content if name == part else body)
        for engine in ("calamine", "openpyxl") if i % 5 == 0 else ("calamine",):
            try:
                roster.parse(buf.getvalue(), "名单.xlsx", vocab, data_year=2024, engine=engine)
            except ImportFileError as exc:
                _check_refusal(exc)
