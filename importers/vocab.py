"""Reference data the caller passes in: districts, subsectors, tiers, chain positions, a checker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class CodeIssueLike(Protocol):
    """One finding of the credit-code checker."""

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...


class CodeCheckLike(Protocol):
    """What `service.enterprises.credit_code.check` returns; importers may not import it."""

    @property
    def ok(self) -> bool: ...

    @property
    def normalized(self) -> str: ...

    @property
    def errors(self) -> Sequence[CodeIssueLike]: ...

    @property
    def warnings(self) -> Sequence[CodeIssueLike]: ...

    @property
    def division(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class District:
    """A district-level unit. `divisions` lists credit-code division codes that also agree with it
    (a zone's host district, a county's code before it became a district)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    kind: str = "district"
    divisions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subsector:
    """A 细分领域 of the taxonomy; `industry` is its parent's name, used in error hints."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    industry: str = ""


@dataclass(frozen=True, slots=True)
class Tier:
    """A rung of the ladder; a higher rank is a higher tier."""

    code: str
    name: str
    rank: int
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChainPosition:
    """An industry-chain position (产业链环节)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """Plain reference data; the importer never reads a database."""

    districts: tuple[District, ...]
    subsectors: tuple[Subsector, ...]
    tiers: tuple[Tier, ...]
    chain_positions: tuple[ChainPosition, ...]
    check_code: Callable[[str], CodeCheckLike]
