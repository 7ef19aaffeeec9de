"""Unified social credit codes (统一社会信用代码, GB 32100-2015): the one place they are normalised
and checked."""

from __future__ import annotations

import operator
import unicodedata
from dataclasses import dataclass, field

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ALLOWED = frozenset(ALPHABET)
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 organisation code (positions 9-17): values 0-9, A=10 … Z=35.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE = {ch: i for i, ch in enumerate(_ORG_ALPHABET)}

# Characters a roster cell may carry around or inside a code and that mean nothing.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u3000"}


@dataclass(frozen=True)
class CodeIssue:
    """One thing wrong with a code: a stable code for programs, a Chinese message for people."""

    code: str
    message: str


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on one code: the normalised form, errors (refuse) and warnings (keep)."""

    raw: str
    normalized: str
    errors: tuple[CodeIssue, ...] = ()
    warnings: tuple[CodeIssue, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def division(self) -> str | None:
        """Positions 3-8: the GB/T 2260 division where the enterprise registered."""
        return self.normalized[2:8] if self.ok else None


def normalize(raw: str) -> str:
    """Strip spaces inside and out, fold full-width to half-width (NFKC) and upper-case."""
    text = str(raw)
    if text.isascii():
        # ASCII is its own NFKC form and upper-cases to ASCII: one pass is the fixed point (the
        # loop below gives the same, as tests/service/imports/test_fast_paths.py checks).
        return "".join(text.upper().split())
    # Upper-casing and dropping spaces can make new composable pairs in junk input:
    # repeat until stable so that normalising twice changes nothing.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).upper())
        stripped = "".join(ch for ch in folded if not ch.isspace() and ch not in _INVISIBLE)
        if stripped == text:
            break
        text = stripped
    return text


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (which must all be in ALPHABET)."""
    if len(first17) != len(_WEIGHTS):  # raises as zip(strict=True) does
        total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    total = sum(map(operator.mul, map(_VALUE.__getitem__, first17), _WEIGHTS))
    c = 31 - total % 31
    return ALPHABET[0 if c == 31 else c]


def org_check_character(first8: str) -> str | None:
    """GB 11714 check character over the organisation code's first 8 characters."""
    if len(first8) != len(_ORG_WEIGHTS):
        return None
    try:
        total = sum(map(operator.mul, map(_ORG_VALUE.__getitem__, first8), _ORG_WEIGHTS))
    except KeyError:
        return None
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def check(raw: str) -> CodeCheck:
    """Normalise and validate one code; every error message says what is wrong and where."""
    code = normalize(raw)
    if not code:
        return CodeCheck(raw, code, (CodeIssue("credit_code.empty", "统一社会信用代码为空"),))
    if len(code) != 18:
        return CodeCheck(
            raw,
            code,
            (
                CodeIssue(
                    "credit_code.length",
                    f"统一社会信用代码应为18位，实际为{len(code)}位",
                ),
            ),
        )
    if not _ALLOWED.issuperset(code):
        bad = [(i + 1, ch) for i, ch in enumerate(code) if ch not in _VALUE]
        pos, ch = bad[0]
        return CodeCheck(
            raw,
            code,
            (
                CodeIssue(
                    "credit_code.charset",
                    f"第{pos}位字符“{ch}”不允许（不得使用I、O、S、V、Z及其他符号）",
                ),
            ),
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return CodeCheck(
            raw,
            code,
            (
                CodeIssue(
                    "credit_code.check_digit", f"第18位校验码应为{expected}，实际为{code[17]}"
                ),
            ),
        )
    warnings: list[CodeIssue] = []
    org_expected = org_check_character(code[8:16])
    if org_expected is not None and code[16] != org_expected:
        warnings.append(
            CodeIssue(
                "credit_code.org_check_digit",
                f"组织机构代码部分（第9-17位）的校验码应为{org_expected}，实际为{code[16]}",
            )
        )
    return CodeCheck(raw, code, (), tuple(warnings))
