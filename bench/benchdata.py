"""Shared set-up for the benchmark scripts."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, insert, make_url, text
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


@contextmanager
def scratch_database(workdir: Path, server: str | None) -> Iterator[str]:
    """A new empty database: a SQLite file in `workdir`, or a database created on the
    PostgreSQL `server` (any database URL on it) and dropped afterwards."""
    if server is None:
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"rectify_bench_{uuid.uuid4().hex[:8]}"
    if server.startswith("postgresql://"):  # psycopg 3, as rectify's own engines
        server = server.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
