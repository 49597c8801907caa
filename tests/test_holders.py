""""Which items does this person hold" has one answer (holders.held_by): reassignment, the
leader's digest headline, links and the personal page agree, whatever way a cell spells
the name (an invisible character, a full-width letter, a title in brackets)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.rules import load_rules
from rectify_core.config.settings import load_settings
from rectify_core.delivery import links
from rectify_core.delivery.notify import addressee
from rectify_core.ledger import db, lifecycle, obligations
from rectify_core.vocab import Role

UNIT = "测试局"
LEDGER = """测试局巡察整改台账
序号,问题,责任领导,责任人,整改时限,完成情况
1,差旅费报销不规范,胡志云,周敏,2026年12月31日,未完成
2,公车使用登记不全,胡志\u200b云（副局长）,周\u3000敏,2026年12月31日,整改中
3,办公用房超标,刘立强,王芳,2026年12月31日,未完成
4,会议费超标,胡志云、刘立强,周敏,2026年11月30日,已完成
"""


@pytest.fixture
def ledger(cli: Any, db_url: str, tmp_path: Path) -> Engine:
    path = tmp_path / "台账.csv"
    path.write_text(LEDGER, encoding="utf-8")
    assert cli(["--db", db_url, "import", str(path), "--unit", UNIT]).code == 0
    return db.make_engine(db_url)


@pytest.mark.parametrize(("name", "role", "held"), [
    ("胡志云", Role.LEADER, [1, 2]), ("周敏", Role.OWNER, [1, 2]), ("刘立强", Role.LEADER, [3]),
    ("胡 志云", Role.LEADER, [1, 2]), ("王芳", Role.LEADER, []),
])
def test_every_way_of_asking_gives_the_same_items(ledger: Engine, name: str, role: Role, held: list[int]) -> None:
    with db.transaction(ledger) as session:
        reassign = [i.no for i in lifecycle.active_items_of(name, role, UNIT, session=session)]
        headline = [o.ref for o in obligations.active_items(session=session, unit=UNIT, leader=name)]
        counted = links.open_items_of(UNIT, name, session=session)
        either = {i.id for r in (Role.OWNER, Role.LEADER)
                  for i in lifecycle.active_items_of(name, r, UNIT, session=session)}
    assert reassign == held
    if role == Role.LEADER:
        assert headline == [str(n) for n in held]
    assert counted == len(either)


def test_the_leaders_headline_counts_a_cell_spelled_otherwise(ledger: Engine) -> None:
    """The digest's 分管 line counts item 2, whose cell spells 胡志云 with an invisible
    character and a title: before the one index it read 1 item."""
    settings = load_settings(None)
    cal: WorkCalendar = settings.calendar
    with db.transaction(ledger) as session:
        to = addressee((UNIT, "胡志云"), ["leader"], dt.date(2026, 12, 1), cal, load_rules(None),
                       obligations.directory(settings, session=session), session=session)
    assert "未完成整改事项共2项" in to.summary
