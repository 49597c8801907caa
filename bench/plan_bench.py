"""Benchmark: plan N open items (default 100,000) and print the figures.

    .venv/bin/python bench/plan_bench.py [--items N] [--db URL]

Prints the time of the raw SELECT of the same rows beside the load and plan stages,
so the planner's own cost is visible. Uses a temporary SQLite file unless --db is given
(the database should be empty: the benchmark adds one round of N items).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from benchdata import populate
from sqlalchemy import select, text

from rectify_core.config.calendar import load_calendar
from rectify_core.config.people import Contact, Directory
from rectify_core.config.rules import Rules
from rectify_core.deadlines.plan import plan
from rectify_core.ledger import db, obligations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    t0 = time.perf_counter()
    populate(url, args.items, dt.date(2025, 12, 18))  # deadlines 2025-06-01 .. 2026-07-05
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
        items = obligations.active_items(session=s)
        hist = obligations.history(session=s)
        ladders = obligations.ladders(rules.ladder, session=s)
        load_s = time.perf_counter() - t
    t = time.perf_counter()
    plans = plan(items, hist, today, rules, ladders, cal, directory)
    plan_s = time.perf_counter() - t
    owed = sum(len(p.notify) for p in plans)
    n = len(items)
    assert len(raw) == n
    print(f"raw SELECT    {len(raw):>9,} rows   {raw_s:7.2f} s")
    print(f"load (Core)   {n:>9,} items  {load_s:7.2f} s")
    print(f"plan (pure)   {n:>9,} items  {plan_s:7.2f} s  = {n / plan_s:,.0f} items/s")
    print(f"load + plan   {n:>9,} items  {load_s + plan_s:7.2f} s  = {n / (load_s + plan_s):,.0f} items/s")
    print(f"notices owed on {today}: {owed:,}")
    with db.transaction(engine) as s:
        s.execute(select(1))
    engine.dispose()


if __name__ == "__main__":
    main()
