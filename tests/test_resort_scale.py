"""A re-sorted sheet larger than any driver binds at once: more than 65,535 items renumbered
and moved on PostgreSQL, whose protocol stops at 65,535 parameters a statement. Every item
takes its new number and line, each renumbering has its event, and undo puts them back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rectify_core.ledger import db
from rectify_core.ledger.models import Event, ImportBatch, Item
from rectify_core.vocab import EventKind
from tests.fixtures.databases import pg_database

ROWS = 66_000  # above 65,535
HEAD = "序号,问题,整改措施,责任人,整改时限,完成情况\n"


def _sheet(path: Path, order: list[int]) -> Path:
    """The same problems in `order`, numbered afresh from 1."""
    lines = (f"{n},第{k}项问题：有关制度执行不到位（编号{k * 7919 % 100_003}）,一是梳理问题清单,责任人{k % 300},"
             f"2027年6月30日,未完成" for n, k in enumerate(order, start=1))
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.postgres
def test_a_resorted_sheet_above_the_parameter_limit_on_postgresql(cli: Any, tmp_path: Path) -> None:
    for url in pg_database():
        _resort(cli, url, tmp_path)


def _resort(cli: Any, url: str, tmp_path: Path) -> None:
    base = ["--db", url]
    first = list(range(1, ROWS + 1))
    done = cli([*base, "import", "--unit", "区交通运输局", str(_sheet(tmp_path / "整改台账.csv", first))])
    assert done.code == 0, done.err
    resorted = first[::-1]
    again = cli([*base, "import", "--round", "1", str(_sheet(tmp_path / "整改台账.csv", resorted))])
    assert again.code == 0, again.err
    engine = db.make_engine(url)
    with db.transaction(engine) as s:
        numbers = dict(s.execute(select(Item.title, Item.no)).all())
        lines = dict(s.execute(select(Item.no, Item.source_line)).all())
        renumbered = s.scalar(select(func.count()).select_from(Event).where(Event.kind == EventKind.RENUMBERED))
        batch = s.scalar(select(func.max(ImportBatch.id)))
    assert len(numbers) == ROWS
    assert all(numbers[f"第{k}项问题：有关制度执行不到位（编号{k * 7919 % 100_003}）"] == n
               for n, k in enumerate(resorted, start=1))
    assert len(set(lines.values())) == ROWS and (lines[1] or 0) < (lines[ROWS] or 0)
    # the middle item keeps its number (66,000 reversed: none does), so every item moved
    assert renumbered == ROWS
    undone = cli([*base, "imports", "undo", str(batch)])
    assert undone.code == 0, undone.err
    with db.transaction(engine) as s:
        back = dict(s.execute(select(Item.title, Item.no)).all())
    assert all(back[f"第{k}项问题：有关制度执行不到位（编号{k * 7919 % 100_003}）"] == k for k in first)
    engine.dispose()
