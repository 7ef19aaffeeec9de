"""The import's fast paths give what the plain rule gives: each is checked against the rule as it
was written before the fast path, on generated input."""

from __future__ import annotations

import json
import pickle
import unicodedata
import zlib
from datetime import date
from decimal import Decimal

from hypothesis import assume, example, given
from hypothesis import strategies as st

from service.audit.display import display
from service.enterprises import credit_code
from service.enterprises.credit_code import ALPHABET, check, check_character, normalize
from service.imports import guess, plan
from service.imports.packing import pack, unpack

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u3000"}
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _plain_normalize(raw: str) -> str:
    text = str(raw)
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
        stripped = "".join(ch for ch in folded if not ch.isspace() and ch not in _INVISIBLE)
        if stripped == text:
            break
        text = stripped
    return text


def _plain_check_character(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    c = 31 - total % 31
    return ALPHABET[0 if c == 31 else c]


def _plain_org_check_character(first8: str) -> str | None:
    try:
        total = sum(_ORG_ALPHABET.index(ch) * w for ch, w in zip(first8, _ORG_WEIGHTS, strict=True))
    except ValueError:
        return None
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


# Codes as rosters write them: ASCII (lower case, spaces, tabs), full-width, invisible marks.
_code_chars = st.sampled_from(
    ALPHABET + "abcdefghijklmnopqrstuvwxyzIOSVZ -\t\n\x1c\x85\u3000\u200b\ufeff０９ＡＺａｚ"
)
_codes = st.one_of(st.text(_code_chars, max_size=24), st.text(max_size=24))


@given(_codes)
@example("91500112100000008t")
@example("9150 0112 1000 0000 8T")
@example("\x1c91500112100000008T\x1f")
def test_normalize_fast_path_equals_the_plain_rule(raw: str) -> None:
    assert normalize(raw) == _plain_normalize(raw)


@given(st.text(st.sampled_from(ALPHABET), min_size=17, max_size=17))
def test_check_character_equals_the_plain_sum(first17: str) -> None:
    assert check_character(first17) == _plain_check_character(first17)


@given(st.text(st.sampled_from(_ORG_ALPHABET + "abz-_ ·Ｘ"), max_size=10))
def test_org_check_character_equals_the_plain_sum(first8: str) -> None:
    assert credit_code.org_check_character(first8) == _plain_org_check_character(first8)


@given(st.text(st.sampled_from(ALPHABET + "IOSVZ*"), min_size=18, max_size=18))
def test_charset_error_names_the_first_bad_character(code: str) -> None:
    bad = [(i + 1, ch) for i, ch in enumerate(code) if ch not in _VALUE]
    result = check(code)
    if bad:
        assert [e.code for e in result.errors] == ["credit_code.charset"]
        pos, ch = bad[0]
        assert f"第{pos}位字符“{ch}”不允许" in result.errors[0].message
    else:
        assert all(e.code != "credit_code.charset" for e in result.errors)


# What plan lines, diffs and undo records hold: text (any, but no lone surrogates: UTF-8 cannot
# carry them), 64-bit integers, booleans, None, in lists and string-keyed objects.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(st.characters(blacklist_categories=("Cs",))),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",))), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(_values)
@example({"name": [None, "重庆\u2028“小巨人”\x1f\\"], "employees:2024": [None, 278]})
def test_plan_json_is_the_text_the_stdlib_writes(value: object) -> None:
    from service.imports.service import _dumps, _loads

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert _dumps(value) == text
    assert _loads(pack(text.encode())) == value
    assert _loads(zlib.compress(text.encode())) == value  # an undo record stored before zstd


@given(st.binary(max_size=5000))
@example(b"")
@example(b"\x28\xb5\x2f\xfd")  # a zstd magic number as content
@example(b"x\x9c")  # a zlib header as content
def test_a_chunk_packs_and_unpacks_to_itself_and_old_zlib_chunks_still_read(data: bytes) -> None:
    assert unpack(pack(data)) == data
    assert unpack(zlib.compress(data, 1)) == data


_diffs = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",))),
    st.lists(_scalars, min_size=2, max_size=2),
    max_size=4,
)


@given(st.lists(st.tuples(st.sampled_from(["create", "update", "unchanged", "error"]), _diffs)))
@example(
    [("update", {"name": ["a\nb", "\u2028c\r\n"]}), ("unchanged", {}), ("create", {"x": [1, 2]})]
)
def test_plan_lines_read_back_as_written(specs: list[tuple[str, dict[str, object]]]) -> None:
    from service.imports.lines import decode, encode, from_plan
    from service.imports.plan import PlanLine

    lines = [
        PlanLine(
            row=i + 3,
            action=action,
            credit_code=f"code{i}",
            name="名\n称",
            enterprise_id=i or None,
            diffs=diffs,
            payload={"enterprise": {"name": "x\ny"}} if diffs else {},
            fingerprint="f",
        )
        for i, (action, diffs) in enumerate(specs)
    ]
    back = decode(encode([from_plan(line) for line in lines]))
    assert [
        (b.row, b.action, b.credit_code, b.name, b.enterprise_id, b.fingerprint) for b in back
    ] == [(x.row, x.action, x.credit_code, x.name, x.enterprise_id, x.fingerprint) for x in lines]
    assert [b.payload for b in back] == [x.payload for x in lines]
    # The diffs come back as the very text the audit row stores.
    assert [b.diffs_json for b in back] == [
        json.dumps(x.diffs, ensure_ascii=False, separators=(",", ":")) if x.diffs else None
        for x in lines
    ]


def test_plan_lines_stored_before_the_diffs_were_kept_apart_still_read() -> None:
    from service.imports.lines import decode

    old = [[5, "update", "c", "n", 7, "f", {"enterprise": {"name": "b"}}, '{"name":["a","b"]}']]
    (line,) = decode(zlib.compress(json.dumps(old).encode()))
    assert (line.row, line.action, line.enterprise_id, line.payload) == (
        5,
        "update",
        7,
        {"enterprise": {"name": "b"}},
    )
    assert line.diffs == {"name": ["a", "b"]}


def _or_none(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), values)


# A payload as the plan writes it: each column in its own JSON form (dates ISO, money text).
_payloads = st.fixed_dictionaries(
    {},
    optional={
        "name": _or_none(st.text(max_size=8)),
        "established_on": _or_none(st.dates().map(lambda d: d.isoformat())),
        "valid_until": _or_none(st.dates().map(lambda d: d.isoformat())),
        "operating_revenue": _or_none(
            st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str)
        ),
        "employees": _or_none(st.integers()),
        "is_key": _or_none(st.booleans()),
        "updated_at": _or_none(st.datetimes().map(lambda d: d.isoformat())),
    },
)


@given(_payloads)
def test_payload_decoding_equals_from_json_per_column(values: dict[str, object]) -> None:
    from service.imports.plan import from_json, from_json_values

    decoded = from_json_values(values)
    assert decoded == {k: from_json(k, v) for k, v in values.items()}
    assert list(decoded) == list(values)


@given(
    st.decimals(
        min_value=-(10**14) + 1, max_value=10**14 - 1, allow_nan=False, allow_infinity=False
    )
)
@example(Decimal("-0"))
@example(Decimal("0E+5"))
@example(Decimal("1E+2"))
@example(Decimal("0.00001"))
@example(Decimal("99999999999999.99999"))
def test_money_texts_are_to_json_and_display(raw: Decimal) -> None:
    value = raw.quantize(plan._PLACES)
    assume(abs(value) < plan.MONEY_LIMIT)
    assert plan.money_texts(value) == (plan.to_json(value), display(value))


_credit_codes = st.text(ALPHABET, min_size=18, max_size=18)


@given(st.sets(_credit_codes, max_size=50), st.lists(_credit_codes, max_size=50))
def test_a_code_set_holds_what_a_set_holds(members: set[str], others: list[str]) -> None:
    # As the reader gets it: pickled. A miss is never a hit (a 64-bit collision aside).
    codes = pickle.loads(pickle.dumps(guess.CodeSet(members)))
    assert len(codes) == len(members)
    assert all(code in codes for code in members)
    assert not any(code in codes for code in others if code not in members)
    assert 18 not in codes


@given(st.one_of(st.dates(), st.datetimes()))
@example(date(1, 1, 1))
@example(date(9999, 12, 31))
def test_sqlite_date_text_is_what_sqlalchemy_writes(value: date) -> None:
    import sqlalchemy as sa
    from sqlalchemy.dialects import sqlite

    from service.bulk import _is_sqlite_iso_date, _iso_date

    dialect = sqlite.dialect()
    impl = sa.Date().dialect_impl(dialect)
    plain = impl.bind_processor(dialect)
    assert plain is not None
    assert _is_sqlite_iso_date(impl)
    assert _iso_date(plain)(value) == plain(value)
