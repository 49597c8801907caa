"""Benchmark: the daily run's stages beside the database's own limits, in one process.

    .venv/bin/python bench/daily_bench.py [--items N] [--db URL]

Populates one round of N open or ongoing items (deadlines spread ±200 days, 500 owners,
40 leaders), then prints, each with its ratio to the floor:
  - the driver's own fetchall of the planner's exact SQL (the floor for planning), and
    streaming `check` (load + plan + JSON, flat memory): each the median of 3 runs,
  - plan_stage (load + plan),
  - the driver's own bulk insert (sqlite3 executemany, psycopg COPY), committed, of the
    notice rows the first day owes into the real notices table (the floor for enqueueing),
  - enqueue_stage on the first day (outbox empty),
  - peak resident memory of the process.
Uses a temporary SQLite file, or with --db (a PostgreSQL server's URL) a new database on
that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchdata import populate, scratch_database
from sqlalchemy import Engine

from rectify_core.config.calendar import local_datetime
from rectify_core.config.people import Contact, Directory
from rectify_core.config.settings import Settings, load_settings
from rectify_core.delivery import enqueue, outbox
from rectify_core.ledger import db, obligations
from rectify_core.runs import check, daily

TODAY = dt.date(2025, 11, 25)


def timed(label: str, floor: float | None, fn: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()  # type: ignore[operator]
    took = time.perf_counter() - t0
    ratio = f"{took / floor:6.1f}×" if floor else "       "
    print(f"{label:<50} {took:8.2f} s {ratio}")
    return took, result


def median_of(runs: int, label: str, floor: float | None, fn: object) -> float:
    """`fn` timed `runs` times; the median printed (with the range) and returned: this
    machine's timings move by a fifth from one run to the next."""
    took = sorted(_time(fn) for _ in range(runs))
    mid = took[len(took) // 2]
    ratio = f"{mid / floor:6.1f}×" if floor else "       "
    print(f"{label:<50} {mid:8.2f} s {ratio}  (median of {runs}: {took[0]:.2f}–{took[-1]:.2f} s)")
    return mid


def _time(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def bare_fetchall(engine: Engine, sql: str) -> int:
    """The database's own floor for reading: the driver's fetchall of the SQL, no SQLAlchemy."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql)
        return len(cursor.fetchall())
    finally:
        raw.close()


def bare_bulk_insert(engine: Engine, params: list[tuple[Any, ...]]) -> float:
    """The database's own floor for writing rows: sqlite3's executemany or psycopg's COPY of
    values already in the driver's form, committed (as enqueue commits); the time it took.
    The rows are then deleted, untimed (enqueue then finds the outbox empty)."""
    columns = enqueue.NOTICE_COLUMNS
    names = ", ".join(columns)
    raw = engine.raw_connection()
    try:
        start = time.perf_counter()
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur, cur.copy(f"COPY notices ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for values in params:
                    copy.write_row(values)
        else:
            cursor = raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(f"INSERT INTO notices ({names}) VALUES ({', '.join('?' * len(columns))})", params)
        raw.commit()
        took = time.perf_counter() - start
        cursor = raw.cursor()
        if engine.dialect.name != "postgresql":
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("DELETE FROM notices")
        raw.commit()
    finally:
        raw.close()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE notices")  # the deleted rows' space and index entries
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--db", help="a PostgreSQL server's URL (default: a temporary SQLite file)")
    parser.add_argument("--day", action="store_true",
                        help="only the streamed first day (plan + enqueue a chunk at a time), with its peak memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), args.db) as url:
        run(url, args)


def run(url: str, args: argparse.Namespace) -> None:
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
        print(f"{'notices enqueued':<50} {tally.inserted:>10,}")  # type: ignore[attr-defined]
        print(f"{'peak resident memory (before the day)':<50} {peak:8.0f} MB ({before:.0f} MB)")
        engine.dispose()
        return
    select_sql = str(obligations._active_query(None).compile(dialect=engine.dialect,
                                                       compile_kwargs={"literal_binds": True}))
    floor = median_of(3, "bare DB-API fetchall of the plan's SELECT (floor)", None,
                      lambda: bare_fetchall(engine, select_sql))
    # check first: it streams, and is timed without the whole day's plans held beside it
    with open(os.devnull, "w", encoding="utf-8") as devnull:  # as `check --json > file` writes
        median_of(3, "check --json (stream: load + plan + JSON)", floor,
                  lambda: check.write_json(engine, settings, TODAY, devnull))
    _, day = timed("plan_stage (load + plan)", floor, lambda: daily.plan_stage(engine, settings, TODAY))
    now = local_datetime(TODAY, 9, 0)
    # the floor bulk-inserts exactly the rows enqueue inserts, already in the driver's form,
    # into the real notices table (its unique key, indexes and foreign keys), then rolls back
    made = enqueue.notice_rows([p for p in day.plans if p.notify], TODAY, outbox.plain_utc(now),  # type: ignore[attr-defined]
                              settings.rules, Counter(), engine.dialect)
    rows = made.fresh + made.again
    insert_floor = bare_bulk_insert(engine, rows)
    print(f"{f'bulk insert of {len(rows):,} notices, committed (floor)':<50} {insert_floor:8.2f} s")
    timed("enqueue_stage, first day (outbox empty)", insert_floor,
          lambda: daily.enqueue_stage(engine, settings, day, now))  # type: ignore[arg-type]
    timed("plan_stage, the same day again", floor, lambda: daily.plan_stage(engine, settings, TODAY))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':<50} {peak:8.0f} MB")
    engine.dispose()


if __name__ == "__main__":
    main()
