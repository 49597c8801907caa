"""The ledger in the database, on SQLite and PostgreSQL, through the real CLI."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item, Round
from tests.reports import STYLE_A, STYLE_B


def test_sample_imports_and_lists(cli: Any, db_url: str, sample: Path) -> None:
    result = cli(["--db", db_url, "import", str(sample)])
    assert result.code == 0, result.err
    assert "新增 37 条" in result.out
    rows = cli(["--db", db_url, "items", "--json"]).json()
    assert len(rows) == 37
    by_no = {r["no"]: r for r in rows}
    assert {r["status"] for r in rows} == {"已完成", "阶段性完成"}
    assert [n for n, r in by_no.items() if r["status"] == "阶段性完成"] == [3, 7, 29]
    assert by_no[1]["immediate"] is True and by_no[1]["deadline_kind"] == "immediate"
    assert (by_no[1]["aspect_no"], by_no[1]["topic_no"]) == (1, 1)
    assert (by_no[37]["aspect_no"], by_no[37]["topic_no"]) == (4, 15)
    assert by_no[3]["measures"][0] == {"date": "2025-01", "date_end": None,
                                      "text": by_no[3]["measures"][0]["text"]}
    assert by_no[3]["status_text"] == "阶段性完成"
    for key in ("title", "leader", "department", "owner", "deadline"):
        assert key in by_no[2]


def test_reimport_is_idempotent(cli: Any, db_url: str, engine: Engine, sample: Path) -> None:
    cli(["--db", db_url, "import", str(sample)])
    again = cli(["--db", db_url, "import", str(sample)])
    assert again.code == 0 and "新增 0 条，更新 0 条，未变化 37 条" in again.out
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 37
        assert s.scalar(select(func.count()).select_from(Event)) == 37
        assert s.scalar(select(func.count()).select_from(Round)) == 1


def test_newer_report_updates_with_events(cli: Any, db_url: str, engine: Engine,
                                          tmp_path: Path) -> None:
    first, second = tmp_path / "v1.txt", tmp_path / "v2.txt"
    first.write_text(STYLE_A, encoding="utf-8")
    second.write_text(STYLE_A.replace("完成情况：正在整改", "完成情况：已完成"), encoding="utf-8")
    cli(["--db", db_url, "import", str(first)])
    result = cli(["--db", db_url, "import", str(second)])
    assert "新增 0 条，更新 1 条，未变化 3 条" in result.out
    with db.transaction(engine) as s:
        item = s.scalars(select(Item).where(Item.no == 4)).one()
        assert item.status == "done"
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.item_id == item.id)
                                           .order_by(Event.id))]
        assert kinds == ["imported", "status_changed"]
        change = s.scalars(select(Event).where(Event.kind == "status_changed")).one().data
        assert change["changes"]["status"] == ["open", "done"]


def test_several_rounds_and_units(cli: Any, db_url: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(STYLE_A, encoding="utf-8")
    b.write_text(STYLE_B, encoding="utf-8")
    cli(["--db", db_url, "import", str(a)])
    cli(["--db", db_url, "import", str(b)])
    rows = cli(["--db", db_url, "items", "--json"]).json()
    assert len(rows) == 7 and len({r["round"] for r in rows}) == 2
    ambiguous = cli(["--db", db_url, "show", "1"])
    assert ambiguous.code == 1 and "--round" in ambiguous.err
    round_id = rows[-1]["round_id"]
    shown = cli(["--db", db_url, "show", "1", "--round", str(round_id)])
    assert shown.code == 0 and "党组研究党风廉政建设不够经常" in shown.out


def test_show_reads_like_a_card(cli: Any, db_url: str, sample: Path) -> None:
    cli(["--db", db_url, "import", str(sample)])
    out = cli(["--db", db_url, "show", "3"]).out
    assert "问题3：滨江路桥南交管站移交不实。" in out
    assert "阶段性完成" in out and "[2025-01]" in out and "导入" in out
    missing = cli(["--db", db_url, "show", "99"])
    assert missing.code == 1 and "没有问题99" in missing.err


def test_datetimes_come_back_aware_utc(engine: Engine, cli: Any, db_url: str,
                                       sample: Path) -> None:
    cli(["--db", db_url, "import", str(sample)])
    with db.transaction(engine) as s:
        at = s.scalars(select(Event.at)).first()
    assert at is not None and at.tzinfo is not None and at.utcoffset() == dt.timedelta(0)


OUTBOX_NOW = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)


def _an_item(engine: Engine) -> tuple[int, int]:
    """A unit, a round and one item to hang outbox rows on: (item id, round id)."""
    from rectify_core.ledger.models import Round, Unit

    with db.transaction(engine) as s:
        unit = Unit(name="单位")
        s.add(unit)
        s.flush()
        rnd = Round(unit_id=unit.id, key="k", name="轮次", imported_at=OUTBOX_NOW)
        s.add(rnd)
        s.flush()
        item = Item(round_id=rnd.id, no=1, title="问题", status="open", status_text="未完成", updated_at=OUTBOX_NOW,
                    pinned={}, extra={}, evidence=[], figures=[])
        s.add(item)
        s.flush()
        return item.id, rnd.id


def _notices(keys: range, ids: tuple[int, int]) -> list[dict[str, object]]:
    """Outbox rows of that item, one per key, as insert_ignore takes them."""
    return [{"dedup_key": f"k{k}", "item_id": ids[0], "round_id": ids[1], "lookback_id": None,
             "due": dt.date(2026, 12, 1), "step_key": "-20", "step_name": "督办通知", "ladder": "v",
             "recipient": "周敏", "recipient_unit": "单位", "kind": "item", "role": "owner", "reason": "r",
             "planned_on": dt.date(2026, 11, 25), "state": "pending", "attempts": 0, "created_at": OUTBOX_NOW}
            for k in keys]


def test_insert_ignore_counts_exactly_in_bulk(engine: Engine) -> None:
    """Above one batch PostgreSQL goes through COPY; both paths insert each key once and
    count exactly what they inserted."""
    from rectify_core.bulk import insert_ignore
    from rectify_core.delivery.outbox import BATCH
    from rectify_core.ledger.models import Notice

    ids = _an_item(engine)
    n = BATCH + 500
    with db.transaction(engine) as s:
        assert insert_ignore(s, Notice.__table__, _notices(range(n), ids), "dedup_key") == n
    with db.transaction(engine) as s:
        assert insert_ignore(s, Notice.__table__, _notices(range(n // 2, n + n // 2), ids), "dedup_key") == n // 2
    with db.transaction(engine) as s:
        keys = list(s.scalars(select(Notice.dedup_key)))
        assert len(keys) == len(set(keys)) == n + n // 2
        assert s.scalars(select(Notice.created_at).limit(1)).one() == OUTBOX_NOW


def test_fresh_rows_that_exist_after_all_are_skipped_not_failed(engine: Engine) -> None:
    """insert_rows takes `fresh` rows as new (PostgreSQL COPYs them straight in); should
    another process have written some meanwhile, nothing fails and nothing doubles: the
    fresh rows are checked like the rest, and the count says what went in."""
    from rectify_core.bulk import converters, insert_rows
    from rectify_core.delivery.enqueue import NOTICE_COLUMNS
    from rectify_core.delivery.outbox import BATCH
    from rectify_core.ledger.models import Notice

    ids = _an_item(engine)
    to = converters(Notice.__table__, NOTICE_COLUMNS, engine.dialect)

    def rows(keys: range) -> list[tuple[object, ...]]:
        return [tuple(to[c](row[c]) for c in NOTICE_COLUMNS) for row in _notices(keys, ids)]

    n = BATCH + 500
    with db.transaction(engine) as s:
        assert insert_rows(s, Notice.__table__, NOTICE_COLUMNS, rows(range(n)), [], "dedup_key") == n
    with db.transaction(engine) as s:  # half of the "fresh" rows exist: all checked, the new half goes in
        assert insert_rows(s, Notice.__table__, NOTICE_COLUMNS, rows(range(n // 2, n + n // 2)),
                           rows(range(n + n // 2, n + n // 2 + 10)), "dedup_key") == n // 2 + 10
        # the transaction goes on after the fallback: it can still write and read
        assert s.scalar(select(func.count()).select_from(Notice)) == n + n // 2 + 10
    with db.transaction(engine) as s:
        keys = list(s.scalars(select(Notice.dedup_key)))
        assert len(keys) == len(set(keys)) == n + n // 2 + 10


def _driver_rows(engine: Engine, ids: tuple[int, int]) -> Any:
    """Outbox rows of keys, in the driver's form (as enqueue makes them)."""
    from rectify_core.bulk import converters
    from rectify_core.delivery.enqueue import NOTICE_COLUMNS
    from rectify_core.ledger.models import Notice

    to = converters(Notice.__table__, NOTICE_COLUMNS, engine.dialect)
    return lambda keys: [tuple(to[c](row[c]) for c in NOTICE_COLUMNS) for row in _notices(keys, ids)]


def test_rows_made_in_batches_that_exist_after_all_are_skipped_not_failed(engine: Engine) -> None:
    """insert_batches: each batch goes to the database while the next is made (PostgreSQL:
    COPYed by a thread); a "fresh" row that exists after all, in a middle batch, makes
    every fresh row checked: nothing fails, nothing doubles, the count is what went in,
    and the transaction goes on."""
    from rectify_core.bulk import insert_batches, insert_rows
    from rectify_core.delivery.enqueue import NOTICE_COLUMNS
    from rectify_core.ledger.models import Notice

    rows = _driver_rows(engine, _an_item(engine))
    with db.transaction(engine) as s:
        assert insert_rows(s, Notice.__table__, NOTICE_COLUMNS, rows(range(1000, 1100)), [], "dedup_key") == 100
    made: list[int] = []

    def batches() -> Any:
        for start in range(0, 3000, 500):  # the third batch holds the hundred that exist
            made.append(start)
            yield rows(range(start, start + 500)), rows(range(10_000 + start, 10_005 + start))

    with db.transaction(engine) as s:
        assert insert_batches(s, Notice.__table__, NOTICE_COLUMNS, batches(), "dedup_key") == 2900 + 30
        assert made == list(range(0, 3000, 500))  # every batch was made and given, past the conflict
        assert s.scalar(select(func.count()).select_from(Notice)) == 3030
    with db.transaction(engine) as s:
        keys = list(s.scalars(select(Notice.dedup_key)))
        assert len(keys) == len(set(keys)) == 3030


def test_an_error_while_batches_are_made_leaves_nothing(engine: Engine) -> None:
    """Making a batch fails after two went to the database: the error reaches the caller
    (no thread left waiting) and the transaction leaves nothing behind."""
    import pytest

    from rectify_core.bulk import insert_batches
    from rectify_core.delivery.enqueue import NOTICE_COLUMNS
    from rectify_core.ledger.models import Notice

    rows = _driver_rows(engine, _an_item(engine))

    def batches() -> Any:
        yield rows(range(0, 3000)), []
        yield rows(range(3000, 6000)), []
        raise RuntimeError("做不出这一批")

    with pytest.raises(RuntimeError, match="做不出这一批"), db.transaction(engine) as s:
        insert_batches(s, Notice.__table__, NOTICE_COLUMNS, batches(), "dedup_key")
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Notice)) == 0
        assert all(t.name != "rectify-copy" for t in threading.enumerate())


def test_a_failed_write_of_the_writer_reaches_the_caller_and_nothing_stays(engine: Engine) -> None:
    """bulk.writer (an import's run of inserts; PostgreSQL writes on a thread of its own):
    a write the database refuses is raised to the caller, the batches after it are not
    written, and the transaction leaves nothing behind."""
    import pytest

    from rectify_core import bulk
    from rectify_core.ledger.models import Unit

    now = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)
    event: dict[str, Any] = {"round_id": 999_999, "item_id": None, "at": now, "kind": "note", "actor": "test",
                             "data": {}, "batch_id": None}
    with pytest.raises(Exception, match=r"(?i)foreign key"), db.transaction(engine) as s:
        s.add(Unit(name="写入前的单位"))
        s.flush()
        with bulk.writer(s) as into:
            into.insert_all(Event.__table__, [event])  # no such round
            into.insert_all(Event.__table__, [{**event, "kind": "after"}])
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        assert s.scalar(select(func.count()).select_from(Unit)) == 0


def test_a_reimport_compares_every_row_whatever_its_chunk(cli: Any, db_url: str, engine: Engine, tmp_path: Path,
                                                          monkeypatch: Any) -> None:
    """A re-import reads the round's list columns (佐证材料, the office's own columns) a
    chunk of rows at a time: every row is compared, each against its own item."""
    from rectify_core.ledger import store

    head = "序号,问题,责任人,整改时限,完成情况,佐证材料,备注\n"
    rows = [f"{n},第{n}项问题，制度执行不到位,张{n},2026年12月{n}日,整改中,材料{n}甲,备注{n}\n" for n in range(1, 8)]
    (tmp_path / "new").mkdir()
    first, second = tmp_path / "台账.csv", tmp_path / "new" / "台账.csv"  # this week's file of the same round
    first.write_text(head + "".join(rows), encoding="utf-8")
    changed = [r.replace(f"材料{n}甲", f"材料{n}乙") if n % 2 else r.replace(f"备注{n}", f"备注{n}已改")
               for n, r in enumerate(rows, start=1)]
    second.write_text(head + "".join(changed[:6]) + rows[6], encoding="utf-8")
    assert cli(["--db", db_url, "import", str(first)]).code == 0
    monkeypatch.setattr(store, "COMPARED_AT_ONCE", 2)
    result = cli(["--db", db_url, "import", str(second)])
    assert result.code == 0 and "新增 0 条，更新 6 条，未变化 1 条" in result.out, result.out + result.err
    with db.transaction(engine) as s:
        kept = {i.no: (i.evidence, i.extra) for i in s.scalars(select(Item))}
    assert kept[1][0] == ["材料1乙"] and kept[2][1] == {"备注": "备注2已改"} and kept[3][0] == ["材料3乙"]
    assert kept[7] == (["材料7甲"], {"备注": "备注7"})
