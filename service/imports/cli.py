"""`tierledger roster …`: import a district roster, write the template, list and revert batches.

A stable contract for scripts: `roster import --json` prints exactly one JSON object, and the
exit status is 0 (no errors), 1 (row errors; nothing written unless --skip-invalid) or 2 (the
file cannot be used)."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from importers.errors import FILE_ERROR_CODES
from service.access.actor import SYSTEM
from service.errors import LedgerError

PHASES = {"read": "读取", "validated": "校验", "written": "写入"}


@click.group()
def roster() -> None:
    """District rosters: import (dry run unless --commit), template, batches, revert."""


def _context() -> tuple[Any, Any]:
    from service.cli import _engine, _settings, prepare

    settings = _settings()
    engine = _engine(settings)
    prepare(engine)
    return settings, engine


class _Bar:
    """A one-line progress display on stderr (stdout stays clean for the summary)."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done != total:
            return
        self.last = now
        name = PHASES.get(phase, phase)
        if total:
            width = 30
            filled = width * done // max(total, 1)
            text = f"\r{name} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} 行"
        else:
            text = f"\r{name} {done} 行"
        click.echo(text.ljust(60), err=True, nl=False)

    def close(self) -> None:
        click.echo("", err=True)


def _summary(file: str, batch: Any, *, committed: bool) -> dict[str, Any]:
    return {
        "file": file,
        "sheet": batch.sheet,
        "header_row": batch.header_row,
        "rows": batch.rows,
        "skipped_rows": batch.skipped_rows,
        "created": batch.created,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "errors": [
            {k: e[k] for k in ("row", "column", "value", "code", "message")} for e in batch.errors
        ],
        "committed": committed,
        "batch_id": batch.id if committed else None,
    }


def _refused(file: str, code: str, message: str) -> dict[str, Any]:
    return {
        "file": file,
        "sheet": None,
        "header_row": None,
        "rows": 0,
        "skipped_rows": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": [{"row": None, "column": None, "value": None, "code": code, "message": message}],
        "committed": False,
        "batch_id": None,
    }


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--district", default=None, help="District name or code (rows must be in it).")
@click.option("--data-year", type=int, default=None, help="Year of the figures (default: last).")
@click.option("--sheet", default=None, help="Sheet to read (default: the one holding a roster).")
@click.option("--commit", "do_commit", is_flag=True, help="Write to the ledger (else a dry run).")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows even if others fail.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def import_roster(
    file: str,
    district: str | None,
    data_year: int | None,
    sheet: str | None,
    do_commit: bool,
    skip_invalid: bool,
    as_json: bool,
) -> None:
    """Check a roster against the ledger and, with --commit, write it in one transaction."""
    from importers.safety import Limits
    from service import clock
    from service.db import writer
    from service.imports import service

    settings, engine = _context()
    data = Path(file).read_bytes()
    bar = None if as_json else _Bar()
    committed = False
    try:
        with Session(writer(engine), expire_on_commit=False) as session:
            try:
                limits = Limits(
                    max_upload_bytes=settings.upload_max_bytes,
                    max_rows=settings.import_max_rows,
                )
                run: Callable[..., Any] = service.preview
                if do_commit:
                    # Nobody reviews between preview and commit here: one pass writes each
                    # part as soon as it is planned. Killed midway, it leaves nothing behind.
                    run = functools.partial(
                        service.import_now,
                        uploads_dir=settings.data_dir / "uploads",
                        skip_invalid=skip_invalid,
                    )
                batch = run(
                    session,
                    SYSTEM,
                    filename=Path(file).name,
                    data=data,
                    today=clock.today(),
                    district=district,
                    data_year=data_year,
                    sheet=sheet,
                    limits=limits,
                    progress=bar,
                )
                committed = batch.status == "committed"
                out = _summary(file, batch, committed=committed)
                human = _human(file, batch)
                if committed:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
    except LedgerError as exc:
        if bar:
            bar.close()
        status = 2 if exc.code in FILE_ERROR_CODES else 1
        message = exc.detail or exc.title
        if exc.fields:
            message += "：" + "；".join(f.message for f in exc.fields)
        if as_json:
            click.echo(json.dumps(_refused(file, exc.code, message), ensure_ascii=False))
        else:
            click.echo(f"无法导入 {file}：{message}（{exc.code}）", err=True)
        sys.exit(status)
    if bar:
        bar.close()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo("\n".join(human))
        if committed:
            click.echo(f"已导入，批次 {out['batch_id']}")
        elif do_commit:
            click.echo("名单有错误，未写入任何数据（改正后重新导入，或使用 --skip-invalid）")
        else:
            click.echo("试运行：未写入任何数据（加 --commit 导入）")
    sys.exit(1 if out["errors"] else 0)


def _human(file: str, batch: Any) -> list[str]:
    lines = [
        f"{file}：工作表“{batch.sheet}”，表头第{batch.header_row}行；数据 {batch.rows} 行"
        f"（跳过空行、备注 {batch.skipped_rows} 行）",
        f"新增 {batch.created}，更新 {batch.updated}，无变化 {batch.unchanged}，"
        f"有错误 {batch.error_rows} 行",
    ]
    lines += [f"提示：{notice}" for notice in batch.notices]
    for e in batch.errors:
        where = f"第{e['row']}行" + (f"“{e['column']}”" if e["column"] else "")
        value = f"（{e['value']}）" if e["value"] else ""
        lines.append(f"  {where}{value}：{e['message']} [{e['code']}]")
    return lines


@roster.command("template")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@click.option("--district", default=None, help="Prefill with this district's enterprises.")
def template(out: str, district: str | None) -> None:
    """Write the roster template (optionally prefilled for a round-trip update)."""
    from service import clock
    from service.db import session_scope
    from service.imports import service

    _settings, engine = _context()
    try:
        with session_scope(engine) as session:
            data = service.template(session, SYSTEM, today=clock.today(), district=district)
    except LedgerError as exc:
        raise click.ClickException(f"{exc.title}：{exc.detail}") from None
    Path(out).write_bytes(data)
    click.echo(f"已写入模板 {out}")


@roster.command("batches")
@click.option("--limit", default=50, show_default=True)
def batches(limit: int) -> None:
    """List import batches, newest first."""
    from service.db import session_scope
    from service.imports import service

    _settings, engine = _context()
    with session_scope(engine) as session:
        items, _total = service.list_batches(session, SYSTEM, page_size=limit)
        for b in items:
            click.echo(
                f"{b.id}\t{b.status}\t{b.uploaded_at:%Y-%m-%d %H:%M}\t{b.uploaded_by_name}\t"
                f"{b.filename!r}\t新增{b.created} 更新{b.updated} 无变化{b.unchanged} "
                f"错误{b.error_rows}"
            )
        if not items:
            click.echo("（无导入批次）")


@roster.command("revert")
@click.argument("batch_id", type=int)
def revert(batch_id: int) -> None:
    """Undo a committed batch (edits made since are kept and reported)."""
    from service.db import session_scope
    from service.imports import service

    _settings, engine = _context()
    try:
        with session_scope(engine) as session:
            batch = service.revert(session, SYSTEM, batch_id)
            result = dict(batch.result)
    except LedgerError as exc:
        raise click.ClickException(f"{exc.title}：{exc.detail}") from None
    click.echo(
        f"已撤销批次 {batch_id}：删除新增企业 {result['removed_enterprises']} 家，"
        f"恢复企业档案 {result['restored_enterprises']} 家"
    )
    for k in result["kept"]:
        click.echo(f"  保留 第{k['row']}行 {k['name']}（{k['credit_code']}）：{k['reason']}")
