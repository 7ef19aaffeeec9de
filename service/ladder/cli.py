"""`tierledger ladder …`: expiry events and the managers' views, printed as the API returns them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import click
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import clock
from service.access.actor import SYSTEM


def _as_of(value: datetime | None) -> date:
    return value.date() if value else clock.today()


@contextlib.contextmanager
def _prepared_engine() -> Iterator[Engine]:
    """The configured database, migrated and with its reference data (once per command)."""
    from service.cli import _engine, _settings, prepare

    engine = _engine(_settings())
    prepare(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _transaction(engine: Engine, fn: Callable[[Session], Any], *, write: bool = False) -> Any:
    """One transaction; a LedgerError is a Chinese message, exit 1."""
    from service.db import session_scope
    from service.errors import LedgerError

    try:
        # A read is no writer: on SQLite a writer's transaction would hold the lock throughout.
        with session_scope(engine) if write else Session(engine) as session:
            result = fn(session)
            if not write:
                session.rollback()
            return result
    except LedgerError as exc:
        details = "；".join(f.message for f in exc.fields) or exc.detail
        raise click.ClickException(f"{exc.title}：{details}") from None


def _run(fn: Callable[[Session], Any], *, write: bool = False) -> Any:
    with _prepared_engine() as engine:
        return _transaction(engine, fn, write=write)


def _echo_json(model: BaseModel) -> None:
    click.echo(json.dumps(model.model_dump(mode="json"), ensure_ascii=False, indent=2))


_AS_OF = click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Date to evaluate on (default: today in China).",
)


def _filters(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--tier", default=None, help="Current tier code (none: no tier).")(fn)
    fn = click.option("--subsector", default=None, help="Subsector code at any level.")(fn)
    fn = click.option("--district", default=None, help="District code.")(fn)
    return fn


@click.group()
def ladder() -> None:
    """The tier ladder: expiry, candidates, due reviews, anomalies, the anomaly scan."""


@ladder.command("expire")
@_AS_OF
def expire(as_of: datetime | None) -> None:
    """Record expiry events for designations past their valid-until date."""
    from service.ladder import service

    today = _as_of(as_of)
    count = _run(lambda s: service.expire(s, SYSTEM, today=today), write=True)
    click.echo(f"已记录 {count} 项认定有效期届满（截至 {today}）")


@ladder.command("candidates")
@_filters
@click.option("--target", default=None, help="Only candidates for this tier.")
@click.option("--year", type=int, default=None, help="Fiscal year evaluated (default: last).")
@click.option("--page", type=click.IntRange(1), default=1)
@click.option("--page-size", type=click.IntRange(1, 1000), default=100)
@click.option("--json", "as_json", is_flag=True, help="Print what the API returns.")
@_AS_OF
def candidates(
    district: str | None,
    subsector: str | None,
    tier: str | None,
    target: str | None,
    year: int | None,
    page: int,
    page_size: int,
    as_json: bool,
    as_of: datetime | None,
) -> None:
    """Enterprises that meet the criteria of a higher tier than they hold (可晋级)."""
    from service.ladder import pool

    result = _run(
        lambda s: pool.candidates(
            s,
            SYSTEM,
            flt=pool.PoolFilter(district, subsector, tier),
            today=_as_of(as_of),
            year=year,
            target=target,
            page=page,
            page_size=page_size,
        )
    )
    if as_json:
        _echo_json(result)
        return
    click.echo(
        f"{result.year}年度数据评估 {result.evaluated} 家，可晋级 {result.total} 家："
        + "，".join(f"{k} {v}" for k, v in result.by_target.items())
    )
    for c in result.items:
        click.echo(
            f"{c.enterprise_id}\t{c.name}\t{c.current_tier_name or '无'} → {c.target_tier_name}"
            f"\t{c.rule_version}"
        )


@ladder.command("due-reviews")
@_filters
@click.option("--within-days", type=click.IntRange(0, 3650), default=90)
@click.option("--page", type=click.IntRange(1), default=1)
@click.option("--page-size", type=click.IntRange(1, 1000), default=100)
@click.option("--json", "as_json", is_flag=True, help="Print what the API returns.")
@_AS_OF
def due_reviews(
    district: str | None,
    subsector: str | None,
    tier: str | None,
    within_days: int,
    page: int,
    page_size: int,
    as_json: bool,
    as_of: datetime | None,
) -> None:
    """Designations whose validity ends within N days (待复核)."""
    from service.ladder import pool

    result = _run(
        lambda s: pool.due_reviews(
            s,
            SYSTEM,
            flt=pool.PoolFilter(district, subsector, tier),
            today=_as_of(as_of),
            within_days=within_days,
            page=page,
            page_size=page_size,
        )
    )
    if as_json:
        _echo_json(result)
        return
    click.echo(f"{within_days} 天内到期待复核 {result.total} 项")
    for d in result.items:
        click.echo(f"{d.enterprise_id}\t{d.name}\t{d.tier_name}\t{d.valid_until}\t{d.days_left}天")


@ladder.command("anomalies")
@_filters
@click.option("--kind", default=None, help="Anomaly kind.")
@click.option("--page", type=click.IntRange(1), default=1)
@click.option("--page-size", type=click.IntRange(1, 1000), default=100)
@click.option("--json", "as_json", is_flag=True, help="Print what the API returns.")
@_AS_OF
def anomalies(
    district: str | None,
    subsector: str | None,
    tier: str | None,
    kind: str | None,
    page: int,
    page_size: int,
    as_json: bool,
    as_of: datetime | None,
) -> None:
    """Anomalies recorded on the ladder (reported, never corrected)."""
    from service.ladder import pool

    result = _run(
        lambda s: pool.anomalies(
            s,
            SYSTEM,
            flt=pool.PoolFilter(district, subsector, tier),
            today=_as_of(as_of),
            kind=kind,
            page=page,
            page_size=page_size,
        )
    )
    if as_json:
        _echo_json(result)
        return
    click.echo(f"梯度异常 {result.total} 项")
    for a in result.items:
        click.echo(f"{a.enterprise_id}\t{a.enterprise_name}\t{a.kind_name}\t{a.detail}")


@ladder.command("scan")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@_AS_OF
def scan(as_json: bool, as_of: datetime | None) -> None:
    """Record anomalies of designations written without a check (demo data, older ledgers),
    and major changes left unreported past their window. Running it again records nothing new.
    Then count the 可晋级 pool again for the dashboard (a read, then a short write)."""
    from service.db import utcnow
    from service.ladder import compliance, pool_counts

    today = _as_of(as_of)
    with _prepared_engine() as engine:
        result = _transaction(engine, lambda s: compliance.scan(s, SYSTEM, today=today), write=True)
        rows = _transaction(engine, lambda s: pool_counts.count(s, today=today, now=utcnow()))
        _transaction(engine, lambda s: pool_counts.store(s, rows), write=True)
    if as_json:
        _echo_json(result)
        return
    click.echo(
        f"扫描批量写入的认定 {result.designations_scanned} 项、"
        f"重大变化 {result.changes_scanned} 项，新记录异常 {result.recorded} 项（截至 {today}）"
    )
    for kind, count in result.by_kind.items():
        click.echo(f"{kind}\t{count}")
    click.echo(f"可晋级企业 {sum(r.candidates for r in rows)} 家（已记下，首页显示此数）")
