"""The `tierledger` command: it calls the same service functions as the API."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service import __version__, clock
from service.access.actor import SYSTEM
from service.access.models import User
from service.commissioners.cli import commissioner as commissioner_commands
from service.config import Settings
from service.db import make_engine, refresh_planner_statistics, session_scope
from service.enterprises.models import ENTERPRISE_STATUSES
from service.ladder.cli import ladder as ladder_commands


def _settings() -> Settings:
    return Settings()


def _engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def prepare(engine: Engine) -> int:
    """Migrate to head and load missing reference data; safe to run any number of times."""
    from service import migrate
    from service.imports import service as import_service
    from service.reference import service as reference_service

    migrate.upgrade(engine)
    with session_scope(engine) as session:
        # A commit killed mid-write left its batch `running`: the next start marks it failed.
        import_service.fail_stale_batches(session)
        return reference_service.load(session)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """TierLedger 梯度培育台账 — the ledger service and its tools."""


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"tierledger {__version__}")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str | None, port: int | None, reload: bool) -> None:
    """Migrate, load reference data, then serve the API and pages."""
    import uvicorn

    settings = _settings()
    engine = _engine(settings)
    added = prepare(engine)
    from service.access import service as access_service

    with session_scope(engine) as session:
        first = access_service.ensure_first_admin(session, password=settings.admin_password or None)
    engine.dispose()
    if added:
        click.echo(f"已载入基础数据 {added} 条")
    if first and not settings.admin_password:
        click.echo(f"已创建管理员账户 admin，初始密码（仅显示这一次）：{first[1]}")
        click.echo("首次登录后须修改密码。")
    click.echo(f"数据库：{settings.resolved_database_url()}")
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        log_level=settings.log_level.lower(),
    )


@main.group()
def db() -> None:
    """Database schema: upgrade, downgrade, current revision."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate to the newest schema and load missing reference data."""
    engine = _engine(_settings())
    added = prepare(engine)
    from service import migrate

    click.echo(f"数据库已是最新版本 {migrate.current(engine)}；新增基础数据 {added} 条")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate down to REVISION (e.g. base)."""
    from service import migrate

    engine = _engine(_settings())
    migrate.downgrade(engine, revision)
    click.echo(f"已降级到 {migrate.current(engine) or 'base'}")


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision and the newest one."""
    from service import migrate

    engine = _engine(_settings())
    click.echo(f"当前版本 {migrate.current(engine) or '（未初始化）'}；最新版本 {migrate.head()}")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Write a consistent copy of the SQLite database to FILE (safe while serving)."""
    from service import backup
    from service.errors import LedgerError

    try:
        pages = backup.backup(_engine(_settings()), file)
    except LedgerError as exc:
        raise click.ClickException(f"{exc.title}：{exc.detail}") from None
    click.echo(f"已备份到 {file}（{pages} 页，完整性检查通过）")


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_restore(file: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup in FILE (stop the server first)."""
    from service import backup
    from service.errors import LedgerError

    if not yes:
        click.confirm("恢复将覆盖当前数据库的全部内容，确定继续吗？", abort=True)
    try:
        backup.restore(_engine(_settings()), file)
    except LedgerError as exc:
        raise click.ClickException(f"{exc.title}：{exc.detail}") from None
    click.echo(f"已从 {file} 恢复")


@main.command("demo-data")
@click.option("--enterprises", "count", type=click.IntRange(1, 1_000_000), default=1000)
@click.option("--seed", type=int, default=1)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def demo_data(count: int, seed: int, as_json: bool) -> None:
    """Add a realistic generated ledger (credit codes pass the check)."""
    from service import demo

    engine = _engine(_settings())
    prepare(engine)
    started = time.perf_counter()
    with session_scope(engine) as session:
        result = demo.generate(session, SYSTEM, enterprises=count, seed=seed, today=clock.today())
        refresh_planner_statistics(session.connection())
    seconds = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps(result.__dict__ | {"seconds": round(seconds, 2)}))
    else:
        click.echo(
            f"已生成企业 {result.enterprises} 家、认定记录 {result.designations} 条、"
            f"经营数据 {result.figures} 条，用时 {seconds:.1f} 秒"
        )


@main.group()
def user() -> None:
    """Accounts: add, set a password, disable, list."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("密码", hide_input=True, confirmation_prompt=True))


def _run(fn: Callable[[Session], str]) -> None:
    """Run one command in one transaction; a LedgerError becomes a Chinese message and exit 1."""
    from service.errors import LedgerError

    engine = _engine(_settings())
    prepare(engine)
    try:
        with session_scope(engine) as session:
            message = fn(session)
    except LedgerError as exc:
        details = "；".join(f.message for f in exc.fields) or exc.detail
        raise click.ClickException(f"{exc.title}：{details}") from None
    click.echo(message)


@user.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "manager", "district_officer", "commissioner", "viewer"]),
)
@click.option("--name", "display_name", default=None, help="Display name (default: username).")
@click.option("--district", default=None, help="District code, for district officers.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    username: str, role: str, display_name: str | None, district: str | None, password_stdin: bool
) -> None:
    """Add an account (they change the password at first login)."""
    from service.access import service as access_service

    password = _read_password(password_stdin)
    _run(
        lambda s: (
            "已创建用户 "
            + access_service.add_user(
                s,
                SYSTEM,
                username=username,
                display_name=display_name or username,
                role=role,
                password=password,
                district_code=district,
                must_change_password=True,
            ).username
        )
    )


def _named(session: Session, username: str) -> User:
    from service.access import service as access_service
    from service.errors import LedgerError

    found = access_service.find_user(session, username)
    if found is None:
        raise LedgerError("user.not_found", "用户不存在", 404, f"没有用户名为“{username}”的用户")
    return found


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_passwd(username: str, password_stdin: bool) -> None:
    """Set an account's password (signs out its sessions and tokens)."""
    from service.access import service as access_service

    password = _read_password(password_stdin)

    def run(s: Session) -> str:
        access_service.set_password(s, SYSTEM, _named(s, username), password)
        return f"已重设 {username} 的密码"

    _run(run)


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable an account at once (its sessions and tokens stop working)."""
    from service.access import service as access_service

    def run(s: Session) -> str:
        access_service.update_user(s, SYSTEM, _named(s, username), active=False)
        return f"已停用 {username}"

    _run(run)


@user.command("list")
def user_list() -> None:
    """List accounts."""
    from service.access import service as access_service

    def run(s: Session) -> str:
        lines = [
            f"{u.id}\t{u.username}\t{u.display_name}\t{u.role}\t{u.district_code or '-'}\t"
            f"{'启用' if u.active else '停用'}"
            for u in access_service.list_users(s)
        ]
        return "\n".join(lines) or "（无用户）"

    _run(run)


@main.group()
def export() -> None:
    """Excel ledgers and reports."""


@export.command("ledger")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="Workbook to write."
)
@click.option(
    "--subsector", "subsectors", multiple=True, help="Code or name at any level (repeatable)."
)
@click.option("--district", default=None, help="District code.")
@click.option("--tier", default=None, help="Tier code (current tier).")
@click.option("--key-only", is_flag=True, help="Key enterprises (重点企业) only.")
@click.option(
    "--status",
    type=click.Choice([*ENTERPRISE_STATUSES, "all"]),
    default="active",
    show_default=True,
    help="Enterprise status (moved-out and deregistered ones are kept in the ledger).",
)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option(
    "--data-year", type=int, default=None, help="Year of the figures (default: last year)."
)
def export_ledger(
    out: str,
    subsectors: tuple[str, ...],
    district: str | None,
    tier: str | None,
    key_only: bool,
    status: str,
    as_of: datetime | None,
    data_year: int | None,
) -> None:
    """Write a ledger workbook: a summary sheet and one sheet per subsector (FILE.zip: one
    workbook per subsector)."""
    from service.db import utcnow
    from service.reports import ledger

    def run(s: Session) -> str:
        sheets = ledger.export_ledger(
            s,
            SYSTEM,
            out,
            ledger.LedgerRequest(
                subsectors=subsectors,
                district_code=district,
                tier_code=tier,
                key_only=key_only,
                status=None if status == "all" else status,
                as_of=as_of.date() if as_of else None,
                data_year=data_year,
            ),
            today=clock.today(),
            now=utcnow(),
            as_zip=out.lower().endswith(".zip"),
        )
        return f"已导出 {sheets} 个细分领域的台账到 {out}"

    _run(run)


@export.command("report")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Workbook.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--district", default=None, help="District code.")
def export_report(
    out: str,
    start: datetime | None,
    end: datetime | None,
    as_of: datetime | None,
    district: str | None,
) -> None:
    """Write the tier report: counts, movements, reviews, targets, with charts."""
    from service.db import utcnow
    from service.reports import tier_report

    def run(s: Session) -> str:
        report = tier_report.export_report(
            s,
            SYSTEM,
            out,
            tier_report.ReportRequest(
                period_start=start.date() if start else None,
                period_end=end.date() if end else None,
                as_of=as_of.date() if as_of else None,
                district_code=district,
            ),
            today=clock.today(),
            now=utcnow(),
        )
        return f"已导出梯度培育情况报表（{report.period_start}至{report.period_end}）到 {out}"

    _run(run)


main.add_command(ladder_commands)


from service.imports.cli import roster  # noqa: E402  (after main: it imports helpers above lazily)

main.add_command(roster)


main.add_command(commissioner_commands)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
