"""Online backup and restore of the embedded SQLite database (PostgreSQL: pg_dump/pg_restore)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine

from service.errors import LedgerError


def _sqlite_path(engine: Engine) -> Path:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        raise LedgerError(
            "backup.not_sqlite",
            "仅支持内置 SQLite 数据库",
            400,
            "PostgreSQL 请用 pg_dump -Fc 备份、pg_restore --clean --if-exists 恢复（见 README）",
        )
    return Path(engine.url.database)


def _check(conn: sqlite3.Connection, what: str) -> None:
    result = conn.execute("PRAGMA integrity_check").fetchone()
    if not result or result[0] != "ok":
        raise LedgerError(
            "backup.corrupt", "数据库文件损坏", 400, f"{what}未通过完整性检查：{result}"
        )


def backup(engine: Engine, target: Path) -> int:
    """Copy a consistent snapshot while others keep writing (SQLite's online backup API)."""
    source_path = _sqlite_path(engine)
    if target.exists():
        raise LedgerError(
            "backup.exists", "目标文件已存在", 400, f"{target} 已存在，请换一个文件名"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path)
    dest = sqlite3.connect(target)
    try:
        # One step copies every page inside one read transaction: the copy is one commit's state.
        source.backup(dest, pages=-1)
        _check(dest, "备份文件")
        pages = int(dest.execute("PRAGMA page_count").fetchone()[0])
    finally:
        dest.close()
        source.close()
    return pages


def restore(engine: Engine, source_file: Path) -> None:
    """Replace the database's content with a backup's, after checking the backup is sound."""
    target_path = _sqlite_path(engine)
    if not source_file.is_file():
        raise LedgerError("backup.missing", "备份文件不存在", 400, f"找不到 {source_file}")
    source = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    try:
        _check(source, "备份文件")
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            raise LedgerError(
                "backup.not_tierledger",
                "不是台账备份",
                400,
                f"{source_file} 不是梯度培育台账的数据库备份",
            )
        engine.dispose()  # nobody of ours holds the file while it is replaced
        dest = sqlite3.connect(target_path)
        try:
            source.backup(dest, pages=-1)
            _check(dest, "恢复后的数据库")
        finally:
            dest.close()
    finally:
        source.close()
