"""HTTP load test: `tierledger serve` on 127.0.0.1 over a 100 000-enterprise ledger, driven by wrk.

Prints requests/s and p50/p95/p99 latency per endpoint and the filtered list's ratio to the bare
health endpoint of the same server in the same run. Run by hand:

    python bench/http_load.py                       # SQLite, 100 000 enterprises
    python bench/http_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Needs `wrk` (Debian package). Traffic goes to 127.0.0.1 only; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LUA = r"""
done = function(summary, latency, requests)
  io.write(string.format(
    "JSON {\"requests\": %d, \"seconds\": %.3f, \"errors\": %d, \"non2xx\": %d, "
    .. "\"p50\": %.3f, \"p95\": %.3f, \"p99\": %.3f}\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, enterprises: int) -> tuple[str, int]:
    """Migrate, fill the ledger if it holds fewer enterprises, and make a manager's token."""
    import sqlalchemy as sa

    from service import clock
    from service.access import service as access_service
    from service.access.actor import SYSTEM
    from service.cli import prepare as migrate_and_load
    from service.db import make_engine, session_scope
    from service.demo import generate
    from service.enterprises.models import Enterprise

    engine = make_engine(url)
    migrate_and_load(engine)
    with session_scope(engine) as session:
        have = session.scalar(sa.select(sa.func.count()).select_from(Enterprise)) or 0
        if have < enterprises:
            print(f"filling the ledger: {enterprises - have} enterprises …", flush=True)
            generate(
                session, SYSTEM, enterprises=enterprises - have, seed=2026, today=clock.today()
            )
        user = access_service.find_user(session, "bench")
        if user is None:
            user = access_service.add_user(
                session,
                SYSTEM,
                username="bench",
                display_name="压测",
                role="manager",
                password="压测用的足够长口令-2026",
            )
        token = access_service.create_token(session, SYSTEM, user, name="bench", days=1).secret
        sample = session.scalar(
            sa.select(Enterprise.id).order_by(Enterprise.id).offset(enterprises // 2)
        )
    engine.dispose()
    return token, int(sample or 1)


def wrk(url: str, token: str, *, seconds: int, connections: int, script: Path) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-H",
        f"Authorization: Bearer {token}",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    data: dict[str, float] = json.loads(line[5:])
    data["rps"] = data["requests"] / data["seconds"]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = Path(tempfile.gettempdir()) / f"tierledger-load-{args.enterprises}"
    data_dir.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{data_dir / 'ledger.sqlite3'}"
    token, sample_id = prepare(url, args.enterprises)
    port = free_port()
    env = os.environ | {
        "TIERLEDGER_DATABASE_URL": url,
        "TIERLEDGER_DATA_DIR": str(data_dir),
        "TIERLEDGER_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the server did not start")
                time.sleep(0.3)
        script = data_dir / "report.lua"
        script.write_text(LUA)
        endpoints = {
            "health": "/healthz",
            "filtered list": "/api/v1/enterprises?district=500104&tier=specialized_sme",
            "list by subsector": "/api/v1/enterprises?subsector=A4&sort=-tier&page_size=50",
            "enterprise file": f"/api/v1/enterprises/{sample_id}",
            "search": "/api/v1/enterprises?q=%E9%91%AB%E7%91%9E&page_size=50",
        }
        results = {}
        for name, path in endpoints.items():
            results[name] = wrk(
                base + path,
                token,
                seconds=args.seconds,
                connections=args.connections,
                script=script,
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"\n{backend}, {args.enterprises:,} enterprises, wrk {args.connections} connections "
        f"× {args.seconds} s per endpoint, one uvicorn worker on 2 cores"
    )
    print(f"{'endpoint':<20}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        print(
            f"{name:<20}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
            f"{int(r['errors'] + r['non2xx']):>8}"
        )
    ratio = results["filtered list"]["rps"] / results["health"]["rps"]
    verdict = "meets" if ratio >= 0.4 and results["filtered list"]["p99"] < 250 else "misses"
    print(
        f"filtered list / health = {ratio:.0%} (target ≥ 40 %, p99 < 250 ms): {verdict} the target"
    )


if __name__ == "__main__":
    main()
