"""Benchmark: the daily run's stages beside the database's own limits, in one process.

    .venv/bin/python bench/daily_bench.py [--items N] [--db URL]

Populates one round of N open or ongoing items (deadlines spread ±200 days, 500 owners,
40 leaders), then prints, each with its ratio to the floor:
  - the raw SELECT of the rows the plan reads (the floor for planning),
  - plan_stage (load + plan), and streaming `check` (load + plan + JSON, flat memory),
  - the raw executemany of the notice rows the first day owes (the floor for enqueueing),
  - enqueue_stage on the first day (outbox empty),
  - peak resident memory of the process.
Uses a temporary SQLite file unless --db names an empty database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchdata import populate
from sqlalchemy import Column, MetaData, Table, insert, text

from rectify_core.config.calendar import local_datetime
from rectify_core.config.people import Contact, Directory
from rectify_core.config.settings import Settings, load_settings
from rectify_core.delivery import outbox
from rectify_core.ledger import db
from rectify_core.ledger.models import Notice
from rectify_core.runs import daily, views

TODAY = dt.date(2025, 11, 25)


def timed(label: str, floor: float | None, fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()  # type: ignore[operator]
    took = time.perf_counter() - t0
    ratio = f"{took / floor:6.1f}×" if floor else "       "
    print(f"{label:<44} {took:8.2f} s {ratio}")
    return took, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", help="SQLAlchemy URL of an empty database (default: a temporary SQLite file)")
    parser.add_argument("--day", action="store_true",
                        help="only the streamed first day (plan + enqueue a chunk at a time), with its peak memory")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    populate(url, args.items, TODAY)
    engine = db.make_engine(url)
    settings = Settings(load_settings(None).rules, load_settings(None).calendar,
                              Directory(contacts=[Contact("书记", "基准测试单位", ("first_responsible",)),
                                                  Contact("巡察办", "*", ("inspection_office",))]))
    print(f"{engine.dialect.name}, {args.items:,} items")
    if args.day:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        _, tally = timed("whole first day, streamed (plan + enqueue)", None,
                         lambda: daily.plan_and_enqueue(engine, settings, TODAY, local_datetime(TODAY, 9, 0)))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'notices enqueued':<44} {tally.inserted:>10,}")  # type: ignore[attr-defined]
        print(f"{'peak resident memory (before the day)':<44} {peak:8.0f} MB ({before:.0f} MB)")
        return
    select_sql = ("SELECT i.id, i.round_id, r.name, u.name, i.no, i.title, i.status, i.deadline_kind, i.deadline, "
                  "i.extended_to, r.feedback_date, i.owner, i.leader, i.overdue_since, i.rebound_count, "
                  "r.first_responsible, i.department FROM items i JOIN rounds r ON r.id = i.round_id "
                  "JOIN units u ON u.id = r.unit_id WHERE i.status IN ('open', 'ongoing') ORDER BY i.round_id, i.no")

    def raw_select() -> int:
        with engine.connect() as conn:
            return len(conn.execute(text(select_sql)).all())

    floor, _ = timed("raw SELECT of the same rows (floor)", None, raw_select)
    _, day = timed("plan_stage (load + plan)", floor, lambda: daily.plan_stage(engine, settings, TODAY))
    timed("check --json (stream: load + plan + JSON)", floor,
          lambda: views.stream_json(daily.iter_item_plans(engine, settings, TODAY), io.StringIO()))
    now = local_datetime(TODAY, 9, 0)
    # the floor inserts exactly the rows enqueue inserts, into a table of the same columns
    rows = outbox.notice_rows([p for p in day.plans if p.notify], TODAY, outbox.plain_utc(now),  # type: ignore[attr-defined]
                              settings.rules, Counter())
    scratch = Table("bench_floor", MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key)
                                                 for c in Notice.__table__.columns))
    scratch.create(engine)

    def raw_insert() -> None:
        with engine.begin() as conn:
            conn.execute(insert(scratch), rows)

    insert_floor, _ = timed(f"raw executemany of {len(rows):,} notices (floor)", None, raw_insert)
    timed("enqueue_stage, first day (outbox empty)", insert_floor,
          lambda: daily.enqueue_stage(engine, settings, day, now))  # type: ignore[arg-type]
    timed("plan_stage, the same day again", floor, lambda: daily.plan_stage(engine, settings, TODAY))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':<44} {peak:8.0f} MB")
    scratch.drop(engine)


if __name__ == "__main__":
    main()
