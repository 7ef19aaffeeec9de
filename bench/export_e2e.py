"""Time the ledger export and the tier report end to end: the service's queries plus the writer.

    python bench/export_e2e.py [--enterprises 10000 100000] [--dir /tmp/export-e2e] [--reuse]

`bench/export_ledger.py` times the workbook writer alone on rows made in memory. This one fills
a SQLite database per size with `service.demo.generate` (the generator behind `tierledger
demo-data`: enterprises, designations, three years of figures), then calls
`service.reports.ledger.export_ledger` (every subsector, a sheet each) and
`service.reports.tier_report.export_report` as the API and the CLI do, each in a fresh child
process so its peak RSS is its own. It prints seconds, ledger rows per second and peak RSS (and
the RSS before the export began, i.e. interpreter, imports and engine). Nothing is committed: the
audit entry each export adds is rolled back with the session.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import Session

from service import demo, migrate
from service.access.actor import SYSTEM
from service.db import make_engine, session_scope, utcnow
from service.enterprises.models import Enterprise
from service.reference import service as reference_service

TODAY = date(2026, 11, 23)


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def fill(path: Path, enterprises: int) -> float:
    path.unlink(missing_ok=True)
    engine = make_engine(_url(path))
    migrate.upgrade(engine)
    with session_scope(engine) as s:
        reference_service.load(s)
    started = time.perf_counter()
    with session_scope(engine) as s:
        demo.generate(s, SYSTEM, enterprises=enterprises, seed=7, today=TODAY)
    engine.dispose()
    return time.perf_counter() - started


def child(kind: str, db: str, out: str) -> None:
    """One export in this process; prints a JSON line with its figures."""
    from service.reports import ledger, tier_report

    engine = make_engine(_url(Path(db)))
    with Session(engine) as s:
        rows = s.scalar(
            sa.select(sa.func.count()).select_from(Enterprise).where(Enterprise.status == "active")
        )
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        wall, cpu = time.perf_counter(), time.process_time()
        if kind == "ledger":
            sheets = ledger.export_ledger(
                s, SYSTEM, out, ledger.LedgerRequest(), today=TODAY, now=utcnow()
            )
        else:
            report = tier_report.export_report(
                s,
                SYSTEM,
                out,
                tier_report.ReportRequest(period_start=date(TODAY.year - 2, 1, 1)),
                today=TODAY,
                now=utcnow(),
            )
            sheets = len(report.subsectors)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        s.rollback()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "rows": rows,
                "sheets": sheets,
                "seconds": wall,
                "cpu": cpu,
                "rss_before_mib": before / 1024,
                "peak_rss_mib": peak / 1024,
                "bytes": Path(out).stat().st_size,
            }
        )
    )


def run(kind: str, db: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(db), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dir", type=Path, default=None, help="where the databases are kept")
    parser.add_argument("--reuse", action="store_true", help="time existing databases as they are")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "DB", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--fill", nargs=2, metavar=("N", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.fill:
        print(fill(Path(args.fill[1]), int(args.fill[0])))
        return
    folder = args.dir or Path(tempfile.mkdtemp(prefix="export-e2e-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"databases in {folder}")
    for n in args.enterprises:
        db = folder / f"ledger-{n}.sqlite3"
        if not (args.reuse and db.exists()):
            # In a child too: Linux keeps a process's peak RSS across fork and exec, so a parent
            # grown by the fill would lend its peak to every export measured after it.
            done = subprocess.run(
                [sys.executable, __file__, "--fill", str(n), str(db)],
                check=True,
                capture_output=True,
                text=True,
            )
            print(f"{n:>7,} enterprises: filled in {float(done.stdout):.1f} s")
        for kind in ("ledger", "report"):
            r = run(kind, db, folder / f"{kind}-{n}.xlsx")
            rate = r["rows"] / r["seconds"] if r["seconds"] else 0.0
            print(
                f"{n:>7,} enterprises  {kind:<6}  {r['seconds']:7.2f} s (CPU {r['cpu']:.2f} s)  "
                f"{rate:>9,.0f} rows/s  peak RSS {r['peak_rss_mib']:6.1f} MiB "
                f"(before export {r['rss_before_mib']:.1f} MiB)  "
                f"{int(r['sheets'])} subsectors, {r['bytes'] / 1e6:.1f} MB"
            )


if __name__ == "__main__":
    main()
