"""Schema migrations keep existing data, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item


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


def test_upgrade_from_0003_keeps_and_completes_old_data(cli: Any, db_url: str, engine: Engine,
                                                         tmp_path: Path) -> None:
    """Rows as the 0003 schema wrote them (no round keys, no person units) upgrade to a
    usable living ledger: the closure recorded in rectify is protected from re-import."""
    import datetime as dt

    from sqlalchemy import MetaData

    db.migrate(engine, "0003", downgrade=True)
    old = MetaData()
    old.reflect(engine)
    assert "import_batches" not in old.tables and "key" not in old.tables["rounds"].c
    now = dt.datetime(2026, 11, 20, 1, 0)
    t = old.tables
    with engine.begin() as conn:
        conn.execute(t["units"].insert(), [{"id": 1, "name": "区交通运输局党组"}])
        conn.execute(t["rounds"].insert(), [{"id": 1, "unit_id": 1, "name": "巡察整改台账", "imported_at": now}])
        common = {"round_id": 1, "immediate": False, "evidence": [], "figures": [], "updated_at": now,
                  "extension_count": 0, "rebound_count": 0, "deadline": dt.date(2026, 12, 31),
                  "deadline_kind": "dated", "owner": "周敏", "leader": "胡志云"}
        conn.execute(t["items"].insert(), [
            {**common, "id": 1, "no": 1, "title": "无依据发放津补贴", "status": "done", "status_text": "已销号"},
            {**common, "id": 2, "no": 2, "title": "桥南交管站移交不实", "status": "open", "status_text": "正在整改"}])
        conn.execute(t["closures"].insert(), [{"id": 1, "item_id": 1, "closed_at": now, "closed_on": now.date(),
                                               "closed_by": "周敏", "verified_by": "王敏",
                                               "evidence": [{"kind": "text", "text": "收据"}],
                                               "evidence_recorded": True, "late": False}])
        conn.execute(t["items"].update().where(t["items"].c.id == 1).values(closure_id=1))
        conn.execute(t["notices"].insert(), [{
            "dedup_key": "item:2:2026-12-31:-20:周敏", "item_id": 2, "round_id": 1, "due": dt.date(2026, 12, 31),
            "step_key": "-20", "step_name": "督办通知", "ladder": "x", "recipient": "周敏", "role": "owner",
            "reason": "r", "planned_on": dt.date(2026, 12, 1), "state": "sent", "attempts": 1,
            "created_at": now, "sent_at": now}])
        conn.execute(t["lookback_sweeps"].insert(), [{"run_on": dt.date(2026, 10, 1), "seed": "s", "share": 0.2,
                                                      "selected": [], "created_at": now}])
    db.migrate(engine)
    with db.transaction(engine) as s:
        from rectify_core.ledger.models import LookbackSweep, Notice, Round

        rnd = s.scalars(select(Round)).one()
        assert rnd.key == "title:巡察整改台账"
        assert s.scalars(select(Notice)).one().recipient_unit == "区交通运输局党组"
        assert s.get_one(Item, 1).pinned == {"status": "closed"}
        assert s.scalars(select(LookbackSweep)).one().unit == ""
        # 0005 indexed who holds the old items, so their personal pages find them
        from rectify_core.ledger.models import ItemHolder

        assert sorted((h.item_id, h.role, h.name) for h in s.scalars(select(ItemHolder))) == [
            (1, "leader", "胡志云"), (1, "owner", "周敏"), (2, "leader", "胡志云"), (2, "owner", "周敏")]
    # next week's ledger of that round still says 正在整改 for the closed item: kept
    path = tmp_path / "ledger.csv"
    path.write_text("巡察整改台账\n填报单位：区交通运输局党组（盖章）,填报日期：2026年11月27日\n序号,问题,责任人,责任领导,整改时限,完成情况\n"
                    "1,无依据发放津补贴,周敏,胡志云,2026年12月31日,正在整改\n"
                    "2,桥南交管站移交不实,周敏,胡志云,2026年12月31日,阶段性完成\n", encoding="utf-8")
    out = cli(["--db", db_url, "import", str(path)])
    assert out.code == 0, out.err
    assert "问题1：文件中的完成情况为“正在整改”（即未完成），但该问题已在 rectify 中销号" in out.out
    statuses = {i["no"]: i["status"] for i in cli(["--db", db_url, "items", "--json"]).json()}
    assert statuses == {1: "已完成", 2: "阶段性完成"}
    assert len(cli(["--db", db_url, "rounds", "--json"]).json()) == 1


def test_head_is_alembics_head(engine: Engine) -> None:
    """The fast up-to-date check reads the newest revision off the file names; it must
    be Alembic's own head, and a migrated database must be stamped with it."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(db.MIGRATIONS)).get_current_head() == db.HEAD
    db.migrate(engine)
    assert db.current_revision(engine) == db.HEAD


def test_upgrade_to_0017_keys_every_unit_and_imports_find_them_by_key(cli: Any, db_url: str, engine: Engine,
                                                                       tmp_path: Path) -> None:
    """Units made before 0017 get their name key; a ledger naming one of them in another
    spelling (full width, stray spaces) goes to it, through the index, not to a new unit."""
    from sqlalchemy import MetaData

    from rectify_core.ledger.models import Round, Unit

    db.migrate(engine, "0016", downgrade=True)
    old = MetaData()
    old.reflect(engine)
    assert "name_key" not in old.tables["units"].c
    with engine.begin() as conn:
        conn.execute(old.tables["units"].insert(), [{"id": 1, "name": "区交通运输局党组"},
                                                     {"id": 2, "name": "区审计局党组"}])
    db.migrate(engine)
    with db.transaction(engine) as s:
        assert dict(s.execute(select(Unit.name, Unit.name_key)).all()) == {"区交通运输局党组": "区交通运输局党组",
                                                                           "区审计局党组": "区审计局党组"}
    ledger = tmp_path / "台账.csv"
    ledger.write_text("序号,问题,责任人,整改时限,完成情况\n1,政府采购制度执行不到位,周敏,2026年12月31日,未完成\n",
                      encoding="utf-8")
    assert cli(["--db", db_url, "import", "--unit", "区 审计局党组", str(ledger)]).code == 0
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == 2
        assert s.scalar(select(Unit.name).join(Round, Round.unit_id == Unit.id)) == "区审计局党组"
