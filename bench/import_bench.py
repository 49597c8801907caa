"""Benchmark: importing a large 台账, as a clerk runs it (a real `rectify import` process).

    .venv/bin/python bench/import_bench.py [--rows 100000] [--db URL]

Writes a CSV 台账 of N rows shaped like real ones (categories, measures 一是…二是…,
leaders with their titles, departments, owners, deadlines in words and dates, statuses),
then prints, each in its own process on a fresh database:
  - the floors: Python's csv reader over the file, and the driver's own bulk insert
    (sqlite3 executemany, psycopg COPY) of one row per problem into the items table;
  - `rectify import --dry-run` (reading and matching, nothing written);
  - `rectify import` (a new round), and the same file again (nothing changes);
  - the same problems re-sorted and renumbered, 2% of titles reworded (the office's next
    week), against the unchanged re-import (goal: ≤ 2×);
each with its wall time, the ratio to the floor, and the process's peak resident memory.
Uses temporary SQLite files, or with --db (a PostgreSQL server's URL) new databases on
that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdata import scratch_database

HEADER = ["序号", "问题类别", "问题描述", "整改措施", "责任领导", "责任部门", "责任人", "整改时限", "完成情况",
          "佐证材料"]
CATEGORIES = ["上轮巡察整改不彻底", "落实党的路线方针政策不到位", "全面从严治党责任落实不力", "基层党组织建设薄弱",
              "作风建设存在短板", "选人用人不规范", "财务管理不严格", "意识形态工作有差距"]
LEADERS = ["胡志云（党组副书记、副局长）", "刘立强（党组成员、副局长）", "陈建华（党组成员、副局长）",
           "王海（纪检监察组组长）"]
DEPARTMENTS = ["办公室", "财务股", "计划统计股", "人事股", "建设管理股", "法规股", "安全监督股", "机关党委"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["敏", "强", "芳", "伟", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞"]
STATUSES = ["已完成整改", "阶段性完成", "正在整改", "未完成", "已完成", "持续推进中"]


def deadline(rng: random.Random) -> str:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 730))
    shape = rng.randrange(8)
    if shape == 0:
        return "立行立改"
    if shape == 1:
        return "长期坚持"
    if shape == 2:
        return f"{day.year}年底前"
    if shape == 3:
        return f"{day.year}年{day.month}月"
    if shape == 4:
        return day.isoformat()
    return f"{day.year}年{day.month}月{day.day}日"


def write_ledger(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["区交通运输局党组巡察反馈问题整改台账（基准测试）"] + [""] * (len(HEADER) - 1))
        out.writerow(HEADER)
        for n in range(1, rows + 1):
            owner = rng.choice(SURNAMES) + rng.choice(GIVEN) + ("" if rng.random() < 0.7 else rng.choice(GIVEN))
            measures = "".join(f"{'一二三四'[k]}是{rng.randrange(2024, 2027)}年{rng.randrange(1, 13)}月"
                               f"完成第{n}项问题的第{k + 1}步整改工作。" for k in range(rng.randrange(1, 4)))
            status = rng.choice(STATUSES)
            out.writerow([n, rng.choice(CATEGORIES), f"第{n}项问题：{rng.choice(DEPARTMENTS)}有关制度执行不到位，"
                          f"涉及资金{rng.randrange(1000, 99999)}元", measures, rng.choice(LEADERS),
                          rng.choice(DEPARTMENTS), owner, deadline(rng), status,
                          "整改报告；相关制度文件" if status.startswith("已完成") else ""])


def write_county(path: Path, units: int, per_unit: int, first_unit: int = 0, seed: int = 9) -> None:
    """A county's 台账 in one file: a 被巡察单位 column, `units` units (numbered from
    `first_unit`, so later files bring new ones) of `per_unit` problems each."""
    rng = random.Random(seed + first_unit)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["全县巡察反馈问题整改台账（基准测试）", *[""] * 7])
        out.writerow(["序号", "被巡察单位", "问题", "整改措施", "责任领导", "责任人", "整改时限", "完成情况"])
        for u in range(first_unit, first_unit + units):
            for n in range(1, per_unit + 1):
                out.writerow([n, f"县第{u + 1}局党组", f"第{n}项问题：{rng.choice(DEPARTMENTS)}有关制度执行不到位",
                              "一是梳理问题清单，二是完善制度。", rng.choice(LEADERS),
                              rng.choice(SURNAMES) + rng.choice(GIVEN), deadline(rng), rng.choice(STATUSES)])


def write_resorted(source: Path, path: Path, seed: int = 8, reworded: float = 0.02) -> None:
    """The office's next week: the same problems shuffled and numbered afresh, and a share
    of their titles reworded (a phrase added), as a re-sorted sheet comes back."""
    rng = random.Random(seed)
    with source.open(encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    head, rows = lines[:2], lines[2:]
    rng.shuffle(rows)
    for n, row in enumerate(rows, start=1):
        row[0] = str(n)
        if rng.random() < reworded:
            row[2] = row[2].replace("有关制度执行不到位", "有关制度执行仍不到位、落实有差距")
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(head + rows)


def run_one(label: str, args: list[str], floor: float | None, env: dict[str, str]) -> float:
    """One command in its own process: wall time, ratio, its own peak resident memory."""
    start = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)  # this child's own resource usage
    took = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label} failed:\n{output.decode(errors='replace')[-3000:]}")
    ratio = f"{took / floor:6.1f}×" if floor else "       "
    print(f"{label:<46} {took:7.2f} s {ratio}  {usage.ru_maxrss / 1024:6.0f} MB", flush=True)
    return took


FLOOR_READ = """
import csv, sys
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
"""

FLOOR_WRITE = """
import csv, datetime as dt, sys
from rectify_core.bulk import insert_all
from rectify_core.ledger import db
from rectify_core.ledger.models import Item
sys.path.insert(0, sys.argv[3])
from benchdata import new_round
engine = db.make_engine(sys.argv[2])
db.migrate(engine)
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))[2:]
now = dt.datetime.now(dt.UTC)
with db.transaction(engine) as s:
    rnd = new_round(now, session=s)
    insert_all(s, Item.__table__, [
        {"round_id": rnd.id, "no": int(r[0]), "title": r[2], "status": "open", "status_text": r[8],
         "immediate": False, "deadline_kind": "dated", "deadline": None, "deadline_text": r[7], "owner": r[6],
         "leader": r[4], "department": r[5], "measures_text": r[3], "evidence": [], "figures": [], "extra": {},
         "pinned": {}, "extension_count": 0, "rebound_count": 0, "updated_at": now} for r in rows])
    s.rollback()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", help="a PostgreSQL server's URL (default: temporary SQLite files)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rectify-import-bench-") as tmp, \
            scratch_database(Path(tmp), args.db) as url, scratch_database(Path(tmp), args.db) as scratch:
        run(Path(tmp), url, scratch, args.rows)


def run(work: Path, url: str, scratch: str, rows: int) -> None:
    ledger = work / f"台账-{rows}.csv"
    write_ledger(ledger, rows)
    python = sys.executable
    rectify = str(Path(python).with_name("rectify"))
    env = {**os.environ, "RECTIFY_DATABASE_URL": url, "XDG_DATA_HOME": str(work / "data")}
    print(f"{'postgresql' if url.startswith('postgresql') else 'sqlite'}, {rows:,} rows "
          f"({ledger.stat().st_size / 1e6:.1f} MB CSV)")
    read = run_one("floor: csv.reader over the file", [python, "-c", FLOOR_READ, str(ledger)], None, env)
    write = run_one("floor: bulk insert of its items (rolled back)",
                    [python, "-c", FLOOR_WRITE, str(ledger), scratch, str(Path(__file__).parent)], None, env)
    floor = read + write
    run_one("rectify import --dry-run (read + match)", [rectify, "import", "--dry-run", str(ledger)], read, env)
    run_one("rectify import (a new round)", [rectify, "import", str(ledger)], floor, env)
    same = run_one("rectify import, the same file again", [rectify, "import", str(ledger)], floor, env)
    resorted = work / f"台账-{rows}-重排.csv"
    write_resorted(ledger, resorted)
    took = run_one("rectify import, re-sorted, renumbered, 2% reworded", [rectify, "import", str(resorted)],
                   floor, env)
    print(f"(ratios: the dry run against the read floor, the imports against both floors together; "
          f"the re-sorted sheet is {took / same:.1f}× the unchanged re-import: goal ≤ 2×)")


if __name__ == "__main__":
    main()
