"""`tierledger commissioner …`: the roster and the reports, through the same service functions."""

from __future__ import annotations

import json

import click
from sqlmodel import Session


@click.group("commissioner")
def commissioner() -> None:
    """Service commissioners (服务专员): add, list, reports."""


def _specialty_codes(session: Session, given: tuple[str, ...]) -> list[str]:
    from service.commissioners import service

    # Codes or names (`tech` or `科技`); an unknown one is left for the service to report.
    return [service.specialty_code(session, s) or s for s in given]


@commissioner.command("add")
@click.argument("name")
@click.option(
    "--specialty", "specialties", multiple=True, required=True, help="tech/科技… (repeatable)."
)
@click.option("--org", "organisation", default="", help="Organisation.")
@click.option("--phone", default="", help="Phone.")
@click.option("--district", "districts", multiple=True, help="District code (repeatable).")
@click.option("--cluster", "clusters", multiple=True, help="Cluster code (repeatable).")
@click.option("--capacity", type=click.IntRange(0, 10_000), default=10, show_default=True)
@click.option("--user", "username", default=None, help="Link this commissioner's account.")
def add(
    name: str,
    specialties: tuple[str, ...],
    organisation: str,
    phone: str,
    districts: tuple[str, ...],
    clusters: tuple[str, ...],
    capacity: int,
    username: str | None,
) -> None:
    """Add a commissioner to the roster."""
    from service.access.actor import SYSTEM
    from service.cli import _named, _run
    from service.commissioners import service
    from service.commissioners.schemas import CommissionerCreate

    def run(s: Session) -> str:
        c = service.create_commissioner(
            s,
            SYSTEM,
            CommissionerCreate(
                name=name,
                specialties=_specialty_codes(s, specialties),
                organisation=organisation,
                phone=phone,
                district_codes=list(districts),
                cluster_codes=list(clusters),
                capacity=capacity,
                user_id=_named(s, username).id if username else None,
            ),
        )
        return f"已登记服务专员 {c.name}（编号 {c.id}）"

    _run(run)


@commissioner.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List the roster with each commissioner's load."""
    from service.cli import _run
    from service.commissioners import service

    def run(s: Session) -> str:
        rows = service.to_public(s, service.list_commissioners(s))
        if as_json:
            return json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False)
        lines = [
            f"{r.id}\t{r.name}\t{'、'.join(r.specialty_names)}\t{r.organisation or '-'}\t"
            f"{r.load}/{r.capacity}\t{'在岗' if r.active else '停用'}\t{r.username or '-'}"
            for r in rows
        ]
        return "\n".join(lines) or "（名册为空）"

    _run(run)


@commissioner.command("report")
@click.argument("kind", type=click.Choice(["coverage", "load", "followup"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's shape).")
@click.option("--district", default=None, help="coverage: one district.")
@click.option("--months", type=click.IntRange(1, 60), default=12, show_default=True)
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
def report(kind: str, as_json: bool, district: str | None, months: int, days: int) -> None:
    """Coverage of key enterprises' slots, commissioners' load, or follow-up of needs."""
    from service import clock
    from service.access.actor import SYSTEM
    from service.cli import _run
    from service.commissioners import reports

    def run(s: Session) -> str:
        today = clock.today()
        if kind == "coverage":
            cov = reports.coverage(s, SYSTEM, district=district)
            if as_json:
                return cov.model_dump_json()
            head = "区县\t重点企业\t有空缺\t" + "\t".join(cov.specialties.values())
            lines = [
                f"{r.district_name}\t{r.key_enterprises}\t{r.with_empty_slot}\t"
                + "\t".join(str(r.empty[c]) for c in cov.specialties)
                for r in [*cov.rows, cov.total]
            ]
            return "\n".join([head, *lines])
        if kind == "load":
            ld = reports.load(s, SYSTEM, today=today, months=months)
            if as_json:
                return ld.model_dump_json()
            lines = [
                f"{r.commissioner_name}\t{r.enterprises}/{r.capacity}"
                f"{'（超额）' if r.over_capacity else ''}\t近{months}个月服务{r.services_total}次"
                for r in ld.rows
            ]
            return "\n".join(lines) or "（无专员）"
        fu = reports.followup(s, SYSTEM, today=today, days=days)
        if as_json:
            return fu.model_dump_json()
        return (
            f"未办结诉求 {sum(r.total for r in fu.open_needs)} 项，其中逾期 {len(fu.overdue)} 项；"
            f"{days} 天内未服务的企业 {len(fu.quiet)} 家"
        )

    _run(run)
