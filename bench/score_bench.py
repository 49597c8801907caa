"""结果考评 at county scale: `scores` for UNITS units of ITEMS items each, against its floor.

    .venv/bin/python bench/score_bench.py [--units 500] [--items 200] [--db URL]

The county: every unit a round of items, a third of them closed (half of those with an
evidence file), a reminder sent for each open item and progress reported on half of them.
The floor is the database's own fetchall of the counted items' SELECT (the one SELECT the
scores need most); the scores are timed whole: the facts read (each kind in one query),
scored and ranked. Uses a temporary SQLite file, or with --db (a PostgreSQL server's URL)
a new database on that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchdata import scratch_database
from daily_bench import bare_fetchall, median_of

from rectify_core.config.calendar import local_datetime
from rectify_core.config.settings import load_settings
from rectify_core.ledger import db, scorefacts, scores
from rectify_core.ledger.models import Closure, Event, Item, Notice, Round, Unit

DAY = dt.date(2026, 12, 10)


def populate(url: str, units: int, per_unit: int) -> int:
    engine = db.make_engine(url)
    db.migrate(engine)
    rng = random.Random(11)
    now = local_datetime(dt.date(2026, 9, 1), 9)
    with db.transaction(engine) as s:
        s.execute(insert(Unit.__table__), [{"name": f"单位{u:04d}"} for u in range(units)])
        ids = dict(s.execute(Unit.__table__.select().with_only_columns(Unit.name, Unit.id)).all())
        s.execute(insert(Round.__table__), [{"unit_id": ids[f"单位{u:04d}"], "key": f"k{u}", "name": "第一轮",
                                              "feedback_date": dt.date(2026, 9, 1), "imported_at": now}
                                             for u in range(units)])
        rounds = [r for (r,) in s.execute(Round.__table__.select().with_only_columns(Round.id))]
        items = []
        for rid in rounds:
            for no in range(1, per_unit + 1):
                items.append({"round_id": rid, "no": no, "title": f"问题{no}", "status_text": "",
                              "status": rng.choice(["open", "ongoing", "done"]), "immediate": False,
                              "deadline_kind": "dated", "deadline": DAY + dt.timedelta(days=rng.randrange(-90, 90)),
                              "owner": f"责任人{no % 50}", "leader": f"领导{no % 8}", "evidence": [], "figures": [],
                              "extra": {}, "pinned": {}, "extension_count": rng.choice([0, 0, 0, 1, 2]),
                              "rebound_count": 0, "updated_at": now})
        for start in range(0, len(items), 20_000):
            s.execute(insert(Item.__table__), items[start:start + 20_000])
        rows = s.execute(Item.__table__.select().with_only_columns(Item.id, Item.round_id, Item.status,
                                                                   Item.deadline)).all()
        closed = [{"item_id": i, "closed_at": now, "closed_on": d, "closed_by": "甲", "verified_by": "乙",
                   "evidence": [{"kind": "file", "name": "a.pdf"}] if i % 2 else [{"kind": "text", "text": "已改"}],
                   "evidence_recorded": True, "late": False} for i, _, st, d in rows if st == "done"]
        sent = [{"dedup_key": f"b:{i}", "item_id": i, "round_id": r, "due": d, "step_key": "s", "step_name": "督办",
                 "ladder": "v", "recipient": "责任人", "recipient_unit": "", "kind": "item", "role": "owner",
                 "reason": "", "planned_on": DAY - dt.timedelta(days=10), "state": "sent", "attempts": 1,
                 "created_at": now, "sent_at": local_datetime(DAY - dt.timedelta(days=10), 9)}
                for i, r, st, d in rows if st != "done"]
        said = [{"round_id": r, "item_id": i, "at": local_datetime(DAY - dt.timedelta(days=8), 10), "kind": "progress",
                 "actor": "责任人", "data": {}} for i, r, st, _ in rows if st != "done" and i % 2]
        for table, batch in ((Closure.__table__, closed), (Notice.__table__, sent), (Event.__table__, said)):
            for start in range(0, len(batch), 20_000):
                s.execute(insert(table), batch[start:start + 20_000])
    engine.dispose()
    return len(rows)


def county_arguments(doc: str | None, *, check: bool = False,
                     extra: Sequence[tuple[str, int, str]] = ()) -> argparse.Namespace:
    """--units, --items and --db, as every county benchmark takes them (and --check, for
    those that hold their figures to goals)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--items", type=int, default=200, help="items per unit")
    parser.add_argument("--db", help="a PostgreSQL server's URL (default: a temporary SQLite file)")
    if check:
        parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its goal")
    for flag, default, words in extra:
        parser.add_argument(flag, type=int, default=default, help=words)
    return parser.parse_args()


def main() -> None:
    args = county_arguments(__doc__)
    with tempfile.TemporaryDirectory() as tmp, scratch_database(Path(tmp), args.db) as url:
        count = populate(url, args.units, args.items)
        engine = db.make_engine(url)
        settings = load_settings(None)
        print(f"{engine.dialect.name}, {args.units:,} units × {args.items} items = {count:,} items")
        sql = str(scorefacts.queries(DAY, engine.dialect.name)["items"].compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        floor = median_of(3, "bare DB-API fetchall of the counted items' SELECT", None,
                          lambda: bare_fetchall(engine, sql))
        facts = [str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
                 for q in scorefacts.queries(DAY, engine.dialect.name).values()]
        every = median_of(3, "bare DB-API fetchall of every fact's SELECT", None,
                          lambda: [bare_fetchall(engine, q) for q in facts])

        def score() -> None:
            with db.session_factory(db.reader(engine))() as session:
                found = scores.compute(DAY, settings, session=session)
            assert len(found) == args.units

        took = median_of(3, "scores (facts read, scored, ranked)", floor, score)
        print(f"{'the same against every fact SELECT':<50} {took:8.2f} s {took / every:6.1f}×")
        engine.dispose()


if __name__ == "__main__":
    main()
