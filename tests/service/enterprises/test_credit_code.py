"""GB 32100-2015 codes: real public codes pass, every single-character change fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.enterprises.credit_code import ALPHABET, check, check_character, normalize

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "credit_codes_python_stdnum.json"
# A copy ships with the tests so a clone without shared/ still runs them.
LOCAL = Path(__file__).with_name("credit_codes_python_stdnum.json")


def _codes() -> dict[str, list[str]]:
    path = LOCAL if LOCAL.exists() else DATA
    data: dict[str, list[str]] = json.loads(path.read_text("utf-8"))
    return data


CODES = _codes()


@pytest.mark.parametrize("code", CODES["valid"])
def test_real_public_codes_pass(code: str) -> None:
    assert check(code).ok


@pytest.mark.parametrize("code", CODES["invalid"])
def test_real_invalid_codes_fail(code: str) -> None:
    assert not check(code).ok


@pytest.mark.parametrize("code", CODES["valid_with_spaces"])
def test_codes_with_spaces_pass_after_normalising(code: str) -> None:
    assert check(code).ok


@pytest.mark.parametrize(
    ("raw", "error_code", "message"),
    [
        ("", "credit_code.empty", "统一社会信用代码为空"),
        ("9135010", "credit_code.length", "统一社会信用代码应为18位，实际为7位"),
        ("91350100M000100Y4", "credit_code.length", "统一社会信用代码应为18位，实际为17位"),
        (
            "91350100M0001O0Y43",
            "credit_code.charset",
            "第14位字符“O”不允许（不得使用I、O、S、V、Z及其他符号）",
        ),
        ("91350100M000100Y44", "credit_code.check_digit", "第18位校验码应为3，实际为4"),
        ("91110000802100433C", "credit_code.check_digit", "第18位校验码应为B，实际为C"),
    ],
)
def test_errors_say_what_is_wrong(raw: str, error_code: str, message: str) -> None:
    result = check(raw)
    assert [(e.code, e.message) for e in result.errors] == [(error_code, message)]


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("91350100m000100y43", "91350100M000100Y43"),
        (" 9135 0100 M000 100Y43 ", "91350100M000100Y43"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),
        ("\u200b91350100M000100Y43\u3000", "91350100M000100Y43"),
    ],
)
def test_normalising(raw: str, normalized: str) -> None:
    assert normalize(raw) == normalized
    assert check(raw).ok


def test_organisation_check_failure_is_a_warning_not_an_error() -> None:
    first17 = "91500104MA0000000"  # org check over "MA000000" is not 0
    code = first17 + check_character(first17)
    result = check(code)
    assert result.ok
    assert [w.code for w in result.warnings] == ["credit_code.org_check_digit"]
    assert result.division == "500104"


first17s = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(first17s)
def test_every_generated_valid_code_passes(first17: str) -> None:
    assert check(first17 + check_character(first17)).ok


@given(first17s, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_every_single_character_change_fails(first17: str, pos: int, replacement: str) -> None:
    code = first17 + check_character(first17)
    if code[pos] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = code[:pos] + replacement + code[pos + 1 :]
    assert not check(changed).ok


@given(st.text(max_size=40))
def test_normalise_is_idempotent(raw: str) -> None:
    assert normalize(normalize(raw)) == normalize(raw)
