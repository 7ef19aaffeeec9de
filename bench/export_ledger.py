"""Time write_ledger against a bare XlsxWriter constant-memory pass over the same cells.

Usage: ``python bench/export_ledger.py [--rows 10000 100000] [--repeat 3] [--seed 2025]``

Each run happens in a fresh child process so its peak RSS is its own. Rows come from a
deterministic pool of distinct rows (built before the clock starts, same size for every N) that
is cycled to N rows, so neither timing nor RSS measures the generator. Targets (issue): time
ratio ≤ 1.3 and peak RSS at 100 000 rows ≤ 1.5 × peak RSS at 10 000 rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exports.ledger import LEDGER_COLUMNS, LedgerMeta, LedgerRow, LedgerSheet, write_ledger

POOL_SIZE = 5_000
DISTRICTS = [
    "大渡口区",
    "长寿区",
    "涪陵区",
    "九龙坡区",
    "两江新区",
    "西部科学城重庆高新区",
    "綦江区",
]
TIERS = ["创新型中小企业", "专精特新中小企业", '专精特新"小巨人"企业', "上市企业"]
CHAIN = ["前端研发", "上游原材料开采", "中游材料制造", "下游制品及应用"]
PEOPLE = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"]
WORDS = ["玻璃纤维", "碳纤维", "铝合金", "镁合金", "聚氨酯", "电子化学品", "石墨烯", "气凝胶"]
_EPOCH = dt.date(1899, 12, 30).toordinal()


def make_pool(seed: int) -> list[LedgerRow]:
    """POOL_SIZE distinct, realistic rows from ``seed`` (names may start with formula triggers)."""
    rng = random.Random(seed)
    pool = []
    for i in range(POOL_SIZE):
        word = rng.choice(WORDS)
        name = f"重庆{word}{i:05d}新材料有限公司"
        if i % 500 == 0:
            name = "=" + name  # a few hostile names keep the slow path honest
        designated = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(2000))
        revenue = Decimal(rng.randrange(-50_000, 5_000_000)) / 100
        pool.append(
            LedgerRow(
                name=name,
                credit_code=f"91500{rng.randrange(100, 999)}MA{rng.randrange(10**9):09d}X",
                district=rng.choice(DISTRICTS),
                subsector=f"{word}及制品",
                chain_position=rng.choice(CHAIN),
                main_products=f"{word}、{rng.choice(WORDS)}复合材料",
                tier=rng.choice(TIERS),
                batch=f"{designated.year}年第{rng.randrange(1, 3)}批",
                designated_on=designated,
                valid_until=designated + dt.timedelta(days=3 * 365),
                is_key=rng.random() < 0.3,
                commissioner_tech=rng.choice(PEOPLE),
                commissioner_finance=rng.choice(PEOPLE),
                commissioner_legal=rng.choice(PEOPLE),
                commissioner_media=rng.choice(PEOPLE),
                revenue=revenue,
                rd_expense=Decimal(rng.randrange(0, 300_000)) / 100,
                employees=rng.randrange(5, 3000),
                contact_name=rng.choice(PEOPLE),
                contact_phone=f"023-{rng.randrange(10**7, 10**8)}",
            )
        )
    return pool


def rows(pool: list[LedgerRow], n: int) -> Iterator[LedgerRow]:
    return itertools.islice(itertools.cycle(pool), n)


def bare(path: str, pool: list[LedgerRow], n: int) -> None:
    """The same cells through XlsxWriter with no formats, merges, totals, checks or page setup.

    As lean a loop as the styled writer's (one attrgetter per row, no per-cell dispatch), so the
    ratio measures what styling and formula safety cost, not a slow baseline.
    """
    import operator

    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = workbook.add_worksheet()
    write_string, write_number = ws.write_string, ws.write_number
    for col, column in enumerate(LEDGER_COLUMNS):
        write_string(0, col, column.label)
    col = {c.key: i for i, c in enumerate(LEDGER_COLUMNS)}
    text_keys = [c.key for c in LEDGER_COLUMNS if c.kind == "text"]
    text_cols = [col[k] for k in text_keys]
    texts = operator.attrgetter(*text_keys)
    c_des, c_val, c_key = col["designated_on"], col["valid_until"], col["is_key"]
    c_rev, c_rd, c_ratio, c_emp = (
        col["revenue"],
        col["rd_expense"],
        col["rd_ratio"],
        col["employees"],
    )
    for r, row in enumerate(rows(pool, n), 1):
        write_number(r, 0, r)
        for c, text in zip(text_cols, texts(row), strict=True):
            if text:
                write_string(r, c, text)
        if row.designated_on is not None:
            write_number(r, c_des, row.designated_on.toordinal() - _EPOCH)
        if row.valid_until is not None:
            write_number(r, c_val, row.valid_until.toordinal() - _EPOCH)
        write_string(r, c_key, "是" if row.is_key else "否")
        if row.revenue is not None:
            write_number(r, c_rev, float(row.revenue))
        if row.rd_expense is not None:
            write_number(r, c_rd, float(row.rd_expense))
            if row.revenue is not None and row.revenue > 0:
                write_number(r, c_ratio, float(row.rd_expense) / float(row.revenue))
        if row.employees is not None:
            write_number(r, c_emp, row.employees)
    workbook.close()


def styled(path: str, pool: list[LedgerRow], n: int) -> None:
    meta = LedgerMeta(
        scope_zh="全市",
        as_of=dt.date(2025, 6, 30),
        exported_at=dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC),
        data_year=2024,
        tiers=TIERS,
    )
    write_ledger(path, [LedgerSheet("B4.01", "玻璃纤维及制品", rows(pool, n))], meta)


def child(mode: str, n: int, seed: int) -> None:
    pool = make_pool(seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ledger.xlsx")
        start, cpu_start = time.perf_counter(), time.process_time()
        (styled if mode == "styled" else bare)(path, pool, n)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        size = os.path.getsize(path)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mib": peak_kib / 1024, "bytes": size}))


def run(mode: str, n: int, seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(n), "--seed", str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.seed)
        return

    peak: dict[int, float] = {}
    print(
        f"{'rows':>8} {'mode':>7} {'wall s':>7} {'cpu s':>7} {'rows/s':>8} "
        f"{'peak MiB':>9} {'MB':>6}"
    )
    for n in args.rows:
        wall: dict[str, list[float]] = {"bare": [], "styled": []}
        cpu: dict[str, list[float]] = {"bare": [], "styled": []}
        for _ in range(args.repeat):
            # Alternate the two so drift in machine load hits both alike.
            for mode in ("bare", "styled"):
                result = run(mode, n, args.seed)
                wall[mode].append(result["seconds"])
                cpu[mode].append(result["cpu"])
                print(
                    f"{n:>8} {mode:>7} {result['seconds']:>7.2f} {result['cpu']:>7.2f} "
                    f"{n / result['cpu']:>8.0f} {result['peak_mib']:>9.1f} "
                    f"{result['bytes'] / 1e6:>6.1f}"
                )
                if mode == "styled":
                    peak[n] = max(peak.get(n, 0.0), result["peak_mib"])
        # CPU time is what the writer costs; wall time also measures whoever else shares the
        # machine. The best of several runs is the least disturbed one (as timeit reports).
        print(
            f"{n:>8} ratio styled/bare: cpu best {min(cpu['styled']) / min(cpu['bare']):.3f}, "
            f"cpu median {statistics.median(cpu['styled']) / statistics.median(cpu['bare']):.3f}, "
            f"wall best {min(wall['styled']) / min(wall['bare']):.3f} (target ≤ 1.3)"
        )
    if len(peak) >= 2:
        low, high = min(peak), max(peak)
        print(
            f"peak RSS {high} rows / {low} rows: {peak[high]:.1f} / {peak[low]:.1f} MiB "
            f"= {peak[high] / peak[low]:.3f} (target ≤ 1.5)"
        )


if __name__ == "__main__":
    main()
