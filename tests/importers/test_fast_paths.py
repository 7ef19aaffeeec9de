"""The normalisers' fast paths give what the plain rule gives: each is checked against the rule
as it was written before the fast path, on generated input."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from importers.normalize import ValueProblem, float_decimal, fold, is_blank, parse_count

_SPACES = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)

# Cell text as rosters carry it: CJK, full-width forms, every kind of space, invisible marks.
_cell_chars = st.sampled_from(
    "a Z0,.-（）年月日重庆１２，　\u00a0\u2028\u3000\t\n\r\x0b\x0c\x1c\x1f\x85"
    "\u200b\u200c\u200d\u2060\ufeff\ufe0f\x00\ud800"
)
_texts = st.one_of(st.text(_cell_chars, max_size=12), st.text(max_size=12))


def _plain_fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip()


@given(_texts)
@example("１２３，４５６")
@example("\u3000重庆\u200b市 ")
@example("\ufeff")
def test_fold_fast_path_equals_the_plain_rule(text: str) -> None:
    assert fold(text) == _plain_fold(text)


@given(_texts)
@example("\u200b")
@example(" \ufeff a")
def test_is_blank_fast_path_equals_the_plain_rule(text: str) -> None:
    assert is_blank(text) == (not text.translate(_INVISIBLE).strip())


def _plain_count(value: float) -> int:
    number = float_decimal(value)
    if number != number.to_integral_value():
        raise ValueProblem("NUMBER_NOT_INTEGER", "应为整数")
    return int(number)


@given(st.one_of(st.floats(), st.integers(-(10**16), 10**16).map(float)))
@example(1e15)
@example(-0.0)
@example(999_999_999_999_999.0)
def test_count_fast_path_for_whole_floats_equals_the_plain_rule(value: float) -> None:
    try:
        expected: int | tuple[str, str] = _plain_count(value)
    except ValueProblem as problem:
        expected = (problem.code, problem.message)
    try:
        got: int | tuple[str, str] | None = parse_count(value)
    except ValueProblem as problem:
        got = (problem.code, problem.message)
    assert got == expected
