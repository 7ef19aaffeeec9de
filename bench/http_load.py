"""HTTP load test: `tierledger serve` on 127.0.0.1 over a 100 000-enterprise ledger, driven by wrk.

Prints requests/s and p50/p95/p99 latency per endpoint and the filtered list's ratio to the bare
health endpoint of the same server in the same run. Each endpoint cycles through many distinct
queries (districts × tiers, subsectors, names), and the whole run is made twice: with the read
cache off (`TIERLEDGER_READ_CACHE_ENTRIES=0`: every request runs its queries) and on (the
default). The list page is the HTML page a manager filters, with a session cookie from the
login form; the rest are the API with a bearer token. Each endpoint's queries are asked once
before it is measured (the steady state, not the first minute after a restart). Run by hand:

    python bench/http_load.py                       # SQLite, 100 000 enterprises
    python bench/http_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Needs `wrk` (Debian package). Traffic goes to 127.0.0.1 only; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LUA = r"""
local paths = {PATHS}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, paths[(n % #paths) + 1])
end

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


def prepare(url: str, enterprises: int) -> tuple[str, list[int]]:
    """Migrate, fill the ledger if it holds fewer enterprises, and make a manager's token."""
    import sqlalchemy as sa

    from service import clock
    from service.access import service as access_service
    from service.access.actor import SYSTEM
    from service.cli import prepare as migrate_and_load
    from service.db import make_engine, refresh_planner_statistics, session_scope
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
            refresh_planner_statistics(session.connection())
            if session.connection().dialect.name == "postgresql":
                # Production leaves this to autovacuum; this machine's server runs without it.
                session.connection().exec_driver_sql("ANALYZE")
        user = access_service.find_user(session, "bench")
        if user is None:
            user = access_service.add_user(
                session,
                SYSTEM,
                username="bench",
                display_name="压测",
                role="manager",
                password=PASSWORD,
            )
        token = access_service.create_token(session, SYSTEM, user, name="bench", days=1).secret
        step = max(1, enterprises // 64)
        sample = session.scalars(
            sa.select(Enterprise.id).where(Enterprise.id % step == 0).limit(64)
        ).all()
    engine.dispose()
    return token, list(sample) or [1]


PASSWORD = "压测用的足够长口令-2026"
DISTRICTS = ("500104", "500112", "500113", "500115", "500116", "500117", "500152", "500109")
TIERS = ("innovative_sme", "specialized_sme", "little_giant", "none")
SUBSECTORS = ("A1", "A2", "A4", "A4.01", "B1", "C2", "A3.02", "B2")
NAMES = ("重庆", "材料", "科技", "新材", "复合", "纤维", "镁", "碳")


def endpoints(sample_ids: list[int]) -> dict[str, tuple[str, list[str]]]:
    """name → (auth, paths): each endpoint cycles through many distinct queries."""
    q = urllib.parse.quote
    filtered = [f"district={d}&tier={t}" for d in DISTRICTS for t in TIERS]
    return {
        "health": ("none", ["/healthz"]),
        "filtered list": ("token", [f"/api/v1/enterprises?{f}" for f in filtered]),
        "list page (HTML)": ("cookie", [f"/enterprises?{f}" for f in filtered]),
        "list by subsector": (
            "token",
            [f"/api/v1/enterprises?subsector={s}&sort=-tier&page_size=50" for s in SUBSECTORS],
        ),
        "enterprise file": ("token", [f"/api/v1/enterprises/{i}" for i in sample_ids]),
        "search": ("token", [f"/api/v1/enterprises?q={q(n)}&page_size=50" for n in NAMES]),
    }


def session_cookie(base: str) -> str:
    """Sign in through the login form as a person would: its CSRF cookie and token first."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"{base}/login", timeout=10) as r:
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.read().decode()).group(1)  # type: ignore[union-attr]
    # Land on the list, not the dashboard: a dashboard view may start the background recount
    # of the candidate pool (service/ladder/pool_counts.py), which would load the server
    # while it is measured.
    form = urllib.parse.urlencode(
        {"username": "bench", "password": PASSWORD, "csrf_token": token, "next": "/enterprises"}
    ).encode()
    opener.open(f"{base}/login", data=form, timeout=10).close()
    cookies = [h for h in opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)]
    pairs = [f"{c.name}={c.value}" for c in cookies[0].cookiejar if c.path == "/"]
    if not pairs:
        sys.exit("signing in failed")
    return "; ".join(pairs)


def warm(base: str, header: str | None, paths: list[str]) -> None:
    """Ask each distinct query once before measuring: the figures are the steady state a
    working day sees (the database's own caches warm, and with the read cache on, its entries
    made), not the first minute after a restart."""
    headers = dict([header.split(": ", 1)]) if header else {}
    for path in paths:
        req = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()


def wrk(
    base: str, header: str | None, paths: list[str], *, seconds: int, connections: int, work: Path
) -> dict[str, float]:
    warm(base, header, paths)
    script = work / "load.lua"
    script.write_text(LUA.replace("{PATHS}", "{" + ", ".join(json.dumps(p) for p in paths) + "}"))
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s"]
    if header:
        cmd += ["-H", header]
    cmd += ["-s", str(script), base + paths[0]]
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    data: dict[str, float] = json.loads(line[5:])
    data["rps"] = data["requests"] / data["seconds"]
    return data


def serve(url: str, data_dir: Path, *, cache: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "TIERLEDGER_DATABASE_URL": url,
        "TIERLEDGER_DATA_DIR": str(data_dir),
        "TIERLEDGER_LOG_LEVEL": "warning",
        "TIERLEDGER_READ_CACHE_ENTRIES": "1000" if cache else "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return server, base
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                sys.exit("the server did not start")
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--cache", choices=("off", "on", "both"), default="both")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    data_dir = Path(tempfile.gettempdir()) / f"tierledger-load-{args.enterprises}"
    data_dir.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{data_dir / 'ledger.sqlite3'}"
    token, sample_ids = prepare(url, args.enterprises)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.cache]
    missed = False
    for cache in modes:
        server, base = serve(url, data_dir, cache=cache)
        try:
            headers = {
                "none": None,
                "token": f"Authorization: Bearer {token}",
                "cookie": f"Cookie: {session_cookie(base)}",
            }
            results = {
                name: wrk(
                    base,
                    headers[auth],
                    paths,
                    seconds=args.seconds,
                    connections=args.connections,
                    work=data_dir,
                )
                for name, (auth, paths) in endpoints(sample_ids).items()
            }
        finally:
            server.terminate()
            server.wait(timeout=20)
        print(
            f"\n{backend}, {args.enterprises:,} enterprises, "
            f"read cache {'on' if cache else 'off'}, "
            f"wrk {args.connections} connections × {args.seconds} s per endpoint, "
            "one uvicorn worker on 2 cores"
        )
        print(f"{'endpoint':<20}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for name, r in results.items():
            print(
                f"{name:<20}{r['rps']:>9.0f}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
                f"{int(r['errors'] + r['non2xx']):>8}"
            )
        health = results["health"]["rps"]
        for name in ("filtered list", "list page (HTML)"):
            r = results[name]
            ok = r["rps"] / health >= 0.4 and r["p99"] < 250 and r["errors"] + r["non2xx"] == 0
            missed |= not ok
            print(
                f"{name} / health = {r['rps'] / health:.0%} (target ≥ 40 %, p99 < 250 ms, "
                f"no errors): {'meets' if ok else 'misses'} the target"
            )
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
