"""Roster import end to end on SQLite (or, with --postgresql, on PostgreSQL) of 10 000 and
100 000-row rosters, then the same file again (all unchanged), each two ways:

- review: `preview`, then `commit` of the stored plan (the page and the API: a person reviews
  the preview between the two);
- direct: `import_now`, one pass that writes each part as soon as it is planned (what
  `tierledger roster import --commit` runs).

Prints rows/s, the child's peak RSS, and for each run the peak of the child together with the
processes it started (the fork server and the roster reader, which reads a large file in a
process of its own), sampled every 100 ms: as RSS summed (which counts twice the pages the fork
server shares with its reader) and as PSS summed (each shared page split among its sharers).

Run from the repository root:  python -m bench.import_commit [--rows 10000 100000] [--repeat N]
Each size runs in a fresh child process on a fresh database, so its peak RSS is its own. With
--repeat the ways take turns N times, and the median and best of each are printed: on this
machine one run can be 15-25 % off the next.

With --compare-django it also times django-import-export in bulk mode importing the same rows
into an equivalent model on SQLite, in its own virtualenv (bench/django_import_export_peer.py
says which version and why), and prints the ratio against the issue's "at least 15x faster".
django-import-export cannot read the messy roster (title rows, two-row merged header, text
numbers), so it gets the plain-header roster with the same rows and columns; TierLedger is timed
on that very file too, and the verdict takes the lower of the two ratios (same plain file, and
TierLedger on the messy file), so it never flatters TierLedger.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _peak_mb() -> float:
    # VmHWM is this process's own high-water mark (ru_maxrss can include the parent's).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _tree(root: int) -> set[int]:
    """`root` and every process below it: the roster reader runs in a child of a fork server
    that the measured process started, so its memory counts too."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        parent[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, ppid in parent.items() if ppid in tree} - tree
        grew = bool(below)
        tree |= below
    return tree


def _tree_memory_mb(root: int) -> tuple[float, float]:
    """(RSS, PSS) of the process tree, summed. The RSS sum counts twice each page the fork
    server shares with the reader it forked (~40 MB); PSS shares such a page out among the
    processes that map it, so its sum is what the tree takes."""
    rss = pss = 0
    for pid in _tree(root):
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss / 1024, pss / 1024


class _TreePeak:
    """Samples `_tree_memory_mb` of process `root` every 100 ms and keeps the highest of each,
    per phase (the measured process names the run it starts). Run in the parent, which is
    idle meanwhile: a sampling thread in the measured process would take the GIL from the
    import it measures."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.phase = ""
        self.peaks: dict[str, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            phase = self.phase
            rss, pss = _tree_memory_mb(self.root)
            was = self.peaks.get(phase, (0.0, 0.0))
            self.peaks[phase] = (max(was[0], rss), max(was[1], pss))

    def stop(self) -> dict[str, tuple[float, float]]:
        self._stop.set()
        self._thread.join()
        return self.peaks


WAYS = ("review", "direct")


def _child(path: str, db: str, way: str) -> None:
    from service import migrate
    from service.access.actor import SYSTEM
    from service.db import make_engine, session_scope
    from service.imports import service as imports
    from service.reference import service as reference_service

    engine = make_engine(db if "://" in db else f"sqlite:///{db}")
    migrate.upgrade(engine)
    with session_scope(engine) as s:
        reference_service.load(s)
    data = Path(path).read_bytes()
    out = {}
    for run in ("first", "again"):
        print("run", run, flush=True)  # for the parent's memory sampling
        started = time.perf_counter()
        with session_scope(engine) as s:
            read = {"filename": "roster.xlsx", "data": data, "today": date(2026, 11, 23)}
            if way == "direct":
                batch = imports.import_now(s, SYSTEM, data_year=2024, **read)  # type: ignore[arg-type]
                previewed = None
            else:
                batch = imports.preview(s, SYSTEM, data_year=2024, **read)  # type: ignore[arg-type]
                previewed = time.perf_counter() - started
                batch = imports.commit(s, SYSTEM, batch.id or 0)
            assert batch.status == "committed"
            counts = (batch.rows, batch.created, batch.updated, batch.unchanged, batch.error_rows)
        out[run] = {
            "seconds": time.perf_counter() - started,
            "preview_seconds": previewed,
            "counts": counts,
        }
    out["peak_mb"] = _peak_mb()
    print(json.dumps(out))


def _fresh_postgresql(server_url: str) -> str:
    """A new, empty database on the server of `server_url`; returns its URL."""
    import sqlalchemy as sa

    url = sa.make_url(server_url)
    name = "tierledger_import_bench"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _tierledger(path: Path, db: Path | str, way: str) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.import_commit", "--child", str(path), str(db), way],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    tree = _TreePeak(proc.pid)
    assert proc.stdout is not None
    last = ""
    for line in proc.stdout:
        if line.startswith("run "):
            tree.phase = line.split()[1]
        last = line
    proc.wait()
    peaks = tree.stop()
    if proc.returncode:
        raise SystemExit(f"the import child failed with exit status {proc.returncode}")
    r = json.loads(last)
    for run in ("first", "again"):
        r[run]["tree_rss_mb"], r[run]["tree_pss_mb"] = peaks.get(run, (0.0, 0.0))
    r["tree_peak_mb"] = max(r[run]["tree_rss_mb"] for run in ("first", "again"))
    for run in ("first", "again"):
        assert r[run]["counts"][4] == 0, r[run]  # no error rows
    assert r["again"]["seconds"] < r["first"]["seconds"]
    return r


def _print_tierledger(n: int, way: str, r: dict) -> None:
    for run in ("first", "again"):
        m = r[run]
        rows, created, _u, unchanged, _errors = m["counts"]
        shown = "-" if m["preview_seconds"] is None else f"{m['preview_seconds']:.2f}"
        print(
            f"{n:>8} {way:>6} {run:>6} {shown:>10} {m['seconds']:>8.2f} "
            f"{rows / m['seconds']:>8.0f} {created:>8} {unchanged:>9} "
            f"{r['peak_mb']:>12.0f} {m['tree_rss_mb']:>14.0f} {m['tree_pss_mb']:>14.0f}",
            flush=True,
        )


def _print_spread(n: int, way: str, runs: list[dict]) -> None:
    for run in ("first", "again"):
        seconds = sorted(r[run]["seconds"] for r in runs)
        median = statistics.median(seconds)
        rows = runs[0][run]["counts"][0]
        print(
            f"{n:>8} {way:>6} {run:>6} over {len(runs)} runs: median {median:.2f} s "
            f"({rows / median:.0f} rows/s), best {seconds[0]:.2f} s ({rows / seconds[0]:.0f} "
            f"rows/s), worst {seconds[-1]:.2f} s",
            flush=True,
        )


def _compare(tmp: Path, messy_runs: dict[int, dict], timeout: float, ways: list[str]) -> None:
    from bench import django_import_export_peer as peer
    from bench.roster import make_roster

    peer.ensure_venv()
    print(f"\ndjango-import-export {peer.PINS['django-import-export']} in {peer.VENV}: {peer.WHY}")
    print(
        "bulk mode: use_bulk=True, batch_size=1000, skip_unchanged, import_id_fields="
        "['credit_code'], one transaction, SQLite WAL + synchronous=NORMAL like TierLedger"
    )
    print(f"each django-import-export size is capped at {timeout:.0f} s")
    print("TierLedger's peak counts every process of its import (the roster reader too)\n")
    print(
        f"{'rows':>8} {'tool':<21} {'way':<6} {'file':<6} {'run':>6} {'total s':>8} "
        f"{'rows/s':>8} {'peak RSS MB':>12}"
    )
    ratios: dict[tuple[int, str], tuple[float, float]] = {}
    unfinished: list[int] = []
    for n, tl_messy in messy_runs.items():
        plain = tmp / f"plain-{n}.xlsx"
        plain.write_bytes(make_roster(n, seed=1, messy=False))
        tl_plain = {w: _tierledger(plain, tmp / f"cmp-plain-{n}-{w}.sqlite3", w) for w in ways}
        for way in ways:
            for label, r in (("messy", tl_messy[way]), ("plain", tl_plain[way])):
                for run in ("first", "again"):
                    m = r[run]
                    print(
                        f"{n:>8} {'TierLedger':<21} {way:<6} {label:<6} {run:>6} "
                        f"{m['seconds']:>8.2f} {m['counts'][0] / m['seconds']:>8.0f} "
                        f"{r['tree_peak_mb']:>12.0f}",
                        flush=True,
                    )
        where = tmp / f"dje-{n}"
        d = peer.run(plain, where, timeout=timeout)
        if d is None:
            unfinished.append(n)
            print(
                f"{n:>8} {'django-import-export':<21} {'bulk':<6} {'plain':<6} "
                f"did not finish in {timeout:.0f} s"
            )
            continue
        assert d["stored"] == n, d
        assert d["first"]["totals"]["new"] == n, d
        assert d["again"]["totals"]["skip"] == n, d
        for run in ("first", "again"):
            m = d[run]
            print(
                f"{n:>8} {'django-import-export':<21} {'bulk':<6} {'plain':<6} {run:>6} "
                f"{m['seconds']:>8.2f} {m['rows'] / m['seconds']:>8.0f} {d['peak_mb']:>12.0f}",
                flush=True,
            )
        for way in ways:
            same = d["first"]["seconds"] / tl_plain[way]["first"]["seconds"]
            vs_messy = d["first"]["seconds"] / tl_messy[way]["first"]["seconds"]
            again = d["again"]["seconds"] / tl_plain[way]["again"]["seconds"]
            ratios[n, way] = (same, vs_messy)
            print(
                f"{n:>8} ratio ({way}), first import: {same:.1f}x on the same plain file, "
                f"{vs_messy:.1f}x with TierLedger on the messy file; re-import (unchanged): "
                f"{again:.1f}x",
                flush=True,
            )
    print()
    for n in unfinished:
        print(f"{n} rows: django-import-export did not finish within {timeout:.0f} s, so no ratio")
    if not ratios:
        print("TierLedger >= 15x faster than django-import-export: not measured")
        return
    for way in ways:
        mine = {n: r for (n, w), r in ratios.items() if w == way}
        low_n, low = min(((n, min(r)) for n, r in mine.items()), key=lambda x: x[1])
        verdict = "YES" if low >= 15 else "NO"
        sizes_done = ", ".join(f"{n:,}" for n in mine)
        print(
            f"TierLedger ({way}) >= 15x faster than django-import-export (first import, rows: "
            f"{sizes_done}): {verdict} (lowest ratio {low:.1f}x at {low_n:,} rows)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--compare-django",
        action="store_true",
        help="also time django-import-export (bulk mode) on the same rows, in its own venv",
    )
    parser.add_argument(
        "--django-timeout",
        type=float,
        default=1200,
        metavar="S",
        help="cap on each django-import-export size, seconds (default 1200)",
    )
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="run TierLedger's imports on this PostgreSQL server instead of SQLite (a database "
        "tierledger_import_bench is made afresh for each size), e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )
    parser.add_argument(
        "--way",
        choices=WAYS,
        nargs="+",
        default=list(WAYS),
        help="review (preview, then commit), direct (import_now), or both (default)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each size and way N times, the ways taking turns, and add the median and the "
        "best of each (this machine's speed drifts by 15-25 %% from one run to the next)",
    )
    parser.add_argument("--child", nargs=3, metavar=("PATH", "DB", "WAY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    from bench.roster import make_roster

    print(
        f"{'rows':>8} {'way':>6} {'run':>6} {'preview s':>10} {'total s':>8} {'rows/s':>8} "
        f"{'created':>8} {'unchanged':>9} {'peak RSS MB':>12} {'run, tree RSS':>14} "
        f"{'run, tree PSS':>14}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        messy_runs = {}
        for n in args.rows:
            path = Path(tmp) / f"roster-{n}.xlsx"
            path.write_bytes(make_roster(n, seed=1, messy=True))
            runs: dict[str, list[dict]] = {way: [] for way in args.way}
            for attempt in range(max(1, args.repeat)):
                for way in args.way:
                    db: Path | str = Path(tmp) / f"bench-{n}-{way}-{attempt}.sqlite3"
                    if args.postgresql:
                        db = _fresh_postgresql(args.postgresql)
                    r = _tierledger(path, db, way)
                    runs[way].append(r)
                    _print_tierledger(n, way, r)
            if args.repeat > 1:
                for way in args.way:
                    _print_spread(n, way, runs[way])
            # The comparison takes each way's median run (by its first import).
            messy_runs[n] = {
                way: sorted(rs, key=lambda r: r["first"]["seconds"])[(len(rs) - 1) // 2]
                for way, rs in runs.items()
            }
        if args.compare_django:
            _compare(Path(tmp), messy_runs, args.django_timeout, args.way)


if __name__ == "__main__":
    main()
