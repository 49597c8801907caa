"""Schema migrations keep existing data, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from rectify_core import db
from rectify_core.models import Event, Item


def test_down_and_up_again_with_data(cli: Any, db_url: str, engine: Engine, sample: Path) -> None:
    assert cli(["--db", db_url, "import", str(sample)]).code == 0
    db.migrate(engine, "0001", downgrade=True)
    db.migrate(engine)
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 37
        assert s.scalar(select(func.count()).select_from(Event)) == 37
    # the upgraded schema is usable: a later command writes to the new columns
    assert cli(["--db", db_url, "extend", "3", "--to", "2026-12-31", "--reason", "腾退",
                "--approved-by", "胡志云", "--date", "2026-11-25"]).code == 0
