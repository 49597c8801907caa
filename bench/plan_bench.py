"""Benchmark: plan N open items (default 100,000) and print the figures.

    .venv/bin/python bench/plan_bench.py [--items N] [--db URL]

Prints the time of the raw SELECT of the same rows beside the load and plan stages,
so the planner's own cost is visible. Uses a temporary SQLite file unless --db is given
(the database should be empty: the benchmark adds one round of N items).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from benchdata import new_round
from sqlalchemy import insert, select, text

from rectify_core import db, scan
from rectify_core.dates import load_calendar
from rectify_core.models import Item
from rectify_core.people import Contact, Directory
from rectify_core.plan import plan
from rectify_core.rules import Rules


def populate(url: str, n: int) -> None:
    engine = db.make_engine(url)
    db.migrate(engine)
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    with db.transaction(engine) as s:
        rnd = new_round(now, session=s)
        rows = [{"round_id": rnd.id, "no": i, "title": f"问题{i}", "status": rng.choice(["open", "ongoing"]),
                 "status_text": "整改中", "immediate": False, "deadline_kind": "dated",
                 "deadline": dt.date(2025, 6, 1) + dt.timedelta(days=rng.randrange(400)),
                 "owner": f"责任人{i % 500}", "leader": f"领导{i % 40}", "evidence": [], "figures": [],
                 "updated_at": now} for i in range(1, n + 1)]
        for start in range(0, n, 10_000):
            s.execute(insert(Item), rows[start:start + 10_000])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    t0 = time.perf_counter()
    populate(url, args.items)
    print(f"populate      {args.items:>9,} items  {time.perf_counter() - t0:7.2f} s (batch insert)")

    engine = db.make_engine(url)
    rules, cal = Rules(), load_calendar(None)
    directory = Directory(contacts=[Contact("书记", "基准测试单位", ("first_responsible",)),
                                    Contact("巡察办", "*", ("inspection_office",))])
    today = dt.date(2025, 11, 3)
    with db.transaction(engine) as s:
        t = time.perf_counter()
        raw = s.execute(text("SELECT i.id, i.round_id, i.no, i.title, i.status, i.deadline_kind, i.deadline, "
                             "i.extended_to, i.owner, i.leader FROM items i JOIN rounds r ON r.id = i.round_id "
                             "WHERE i.status IN ('open', 'ongoing')")).all()
        raw_s = time.perf_counter() - t
        t = time.perf_counter()
        items = scan.active_items(session=s)
        hist = scan.history(session=s)
        ladders = scan.ladders(rules.ladder, session=s)
        load_s = time.perf_counter() - t
    t = time.perf_counter()
    plans = plan(items, hist, today, rules, ladders, cal, directory)
    plan_s = time.perf_counter() - t
    owed = sum(len(p.notify) for p in plans)
    n = len(items)
    assert len(raw) == n
    print(f"raw SELECT    {len(raw):>9,} rows   {raw_s:7.2f} s")
    print(f"load (ORM)    {n:>9,} items  {load_s:7.2f} s")
    print(f"plan (pure)   {n:>9,} items  {plan_s:7.2f} s  = {n / plan_s:,.0f} items/s")
    print(f"load + plan   {n:>9,} items  {load_s + plan_s:7.2f} s  = {n / (load_s + plan_s):,.0f} items/s")
    print(f"notices owed on {today}: {owed:,}")
    with db.transaction(engine) as s:
        s.execute(select(1))
    engine.dispose()


if __name__ == "__main__":
    main()
