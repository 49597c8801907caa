"""Shared set-up for the benchmark scripts."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import insert
from sqlalchemy.orm import Session

from rectify_core.ledger import holders
from rectify_core.ledger.models import Item, Round, Unit


def new_round(now: dt.datetime, *, session: Session) -> Round:
    """A unit and a round fed back on 2025-01-07, to hang benchmark items on."""
    unit = Unit(name="基准测试单位")
    session.add(unit)
    session.flush()
    rnd = Round(unit_id=unit.id, key="inspection::2025-01-07", name="基准测试轮次", feedback_date=dt.date(2025, 1, 7),
                imported_at=now)
    session.add(rnd)
    session.flush()
    return rnd


def populate(url: str, n: int, centre: dt.date, spread: int = 200, owners: int = 500) -> None:
    """A fresh round of `n` open or ongoing items with deadlines within `spread` days of
    `centre` (`owners` owners, 40 leaders), inserted in batches."""
    from rectify_core.ledger import db

    engine = db.make_engine(url)
    db.migrate(engine)
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    items = Item.__table__
    with db.transaction(engine) as s:
        rnd = new_round(now, session=s)
        for start in range(1, n + 1, 20_000):
            s.execute(insert(items), [
                {"round_id": rnd.id, "no": i, "title": f"问题{i}", "status": rng.choice(["open", "ongoing"]),
                 "status_text": "整改中", "immediate": False, "deadline_kind": "dated",
                 "deadline": centre + dt.timedelta(days=rng.randrange(-spread, spread)), "owner": f"责任人{i % owners}",
                 "leader": f"领导{i % 40}", "evidence": [], "figures": [], "extra": {}, "pinned": {},
                 "extension_count": 0, "rebound_count": 0, "updated_at": now}
                for i in range(start, min(start + 20_000, n + 1))])
        holders.rebuild(session=s)  # items written directly: index who holds them
    engine.dispose()
