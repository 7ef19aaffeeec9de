"""Roster parsing speed and peak memory: rows/s and peak RSS for 10 000 and 100 000-row rosters.

Run from the repository root:  python -m bench.import_parse [--rows 10000 100000] [--openpyxl]
Each measurement runs in a fresh child process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(path: str, engine: str) -> None:
    from importers import roster, safety
    from tests.importers.reference import vocabulary

    vocab = vocabulary()
    data = Path(path).read_bytes()
    started = time.perf_counter()
    safety.vet(data, "roster.xlsx")
    vet_seconds = time.perf_counter() - started
    started = time.perf_counter()
    parsed = roster.parse(data, "roster.xlsx", vocab, data_year=2024, engine=engine)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": len(parsed.rows),
                "errors": len(parsed.errors),
                "seconds": seconds,
                "vet_seconds": vet_seconds,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--openpyxl", action="store_true", help="also time openpyxl read-only")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    from bench.roster import make_roster

    engines = ["calamine", "openpyxl"] if args.openpyxl else ["calamine"]
    print(
        f"{'rows':>8} {'kind':>6} {'engine':>9} {'MB':>6} {'vet s':>6} {'parse s':>8} "
        f"{'rows/s':>8} {'peak RSS MB':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            for messy in (False, True):
                data = make_roster(n, seed=1, messy=messy)
                path = Path(tmp) / f"roster-{n}-{int(messy)}.xlsx"
                path.write_bytes(data)
                for engine in engines:
                    proc = subprocess.run(
                        [sys.executable, "-m", "bench.import_parse", "--child", str(path), engine],
                        capture_output=True,
                        text=True,
                        cwd=ROOT,
                        env=dict(os.environ, PYTHONPATH=str(ROOT)),
                        check=True,
                    )
                    r = json.loads(proc.stdout.strip().splitlines()[-1])
                    if r["rows"] != n or r["errors"]:
                        raise SystemExit(f"unexpected parse result: {r}")
                    print(
                        f"{n:>8} {'messy' if messy else 'clean':>6} {engine:>9} "
                        f"{len(data) / 2**20:>6.1f} {r['vet_seconds']:>6.2f} {r['seconds']:>8.2f} "
                        f"{n / r['seconds']:>8.0f} {r['peak_mb']:>12.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
