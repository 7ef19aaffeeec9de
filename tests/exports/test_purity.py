"""exports/ stays a pure workbook library: no web, database or service imports, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import exports

BANNED_ROOTS = {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "service", "importers"}
SOURCES = sorted(Path(exports.__file__).parent.glob("*.py"))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_exports_import_nothing_from_the_web_the_database_or_the_service() -> None:
    assert len(SOURCES) >= 6
    for path in SOURCES:
        roots = _imported_roots(ast.parse(path.read_text(encoding="utf-8")))
        assert not roots & BANNED_ROOTS, (path.name, roots & BANNED_ROOTS)


def test_exports_never_read_the_clock() -> None:
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"now", "today", "utcnow"}:
                raise AssertionError(f"{path.name}:{node.lineno} reads the clock; pass it in")
