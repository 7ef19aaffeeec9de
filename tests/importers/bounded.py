"""Run importer calls on hostile files in a child process under hard memory and time limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# The child applies RLIMIT_AS before importing anything, then runs each case and reports the
# error code (or "ok"), the seconds the call took and the process's own peak RSS so far.
_CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[1]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from importers import annotate, roster, safety
from importers.errors import ImportFileError
from tests.importers.reference import vocabulary
vocab = vocabulary()
results = []
for spec in json.loads(sys.argv[2]):
    data = open(spec["path"], "rb").read()
    started = time.perf_counter()
    try:
        if spec["call"] == "check":
            safety.check(data, spec["filename"])
            outcome = "ok"
        elif spec["call"] == "annotate":
            parsed = roster.parse(data, spec["filename"], vocab, data_year=2024)
            annotate.mark(data, parsed.errors, filename=spec["filename"], sheet=parsed.sheet,
                          header_row=parsed.header_row)
            outcome = "ok"
        else:
            parsed = roster.parse(data, spec["filename"], vocab, data_year=2024,
                                  engine=spec.get("engine", "calamine"))
            outcome = f"ok:{len(parsed.rows)}"
    except ImportFileError as exc:
        outcome = exc.code
    elapsed = time.perf_counter() - started
    # VmHWM belongs to this process image; ru_maxrss would carry the forking parent's peak
    # across exec (Linux keeps it), so a large pytest process would inflate every figure.
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss = (int(hwm[0].split()[1]) if hwm else maxrss) // 1024
    results.append({"outcome": outcome, "seconds": elapsed, "peak_mb": rss})
print(json.dumps(results))
"""


def run_bounded(
    cases: list[dict[str, Any]], *, memory_mb: int = 512, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Each case: {"data": bytes, "filename": str, "call": "check"|"parse"|"annotate",
    "engine": ...}. Returns one {"outcome", "seconds", "peak_mb"} per case, in order."""
    with tempfile.TemporaryDirectory() as tmp:
        specs = []
        for i, case in enumerate(cases):
            path = Path(tmp) / f"case{i}"
            path.write_bytes(case["data"])
            spec = {k: v for k, v in case.items() if k != "data"}
            spec["path"] = str(path)
            spec.setdefault("filename", "名单.xlsx")
            spec.setdefault("call", "parse")
            specs.append(spec)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(memory_mb), json.dumps(specs)],
            capture_output=True,
            text=True,
            timeout=timeout * len(cases) + 15,
            cwd=ROOT,
            env=env,
            check=False,
        )
    assert proc.returncode == 0, f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    results: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results
