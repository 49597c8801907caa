"""A property over random ledgers and random edits (rows deleted, the rest renumbered,
shuffled, titles reworded by a few characters, rows added): no item is lost, none is
matched twice, and what people recorded stays with its problem. On SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from rectify_core.config.settings import load_settings
from rectify_core.errors import RefusedError
from rectify_core.importers import read_ledger
from rectify_core.ledger import db, items, lifecycle
from rectify_core.ledger.act import Act
from rectify_core.ledger.models import Item, Round, Unit
from rectify_core.ledger.store import ImportChoices, save_ledger

NOW = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 11, 9, 1, 0, tzinfo=dt.UTC)
# phrases no two titles share: titles built from them are far apart (similarity well under
# the matcher's threshold), so a reworded title is close to its own original only
PHRASES = ["干部档案", "采购管理", "公务接待", "党员发展", "三会一课", "财务报销", "资产处置", "项目审批",
           "合同签订", "车辆使用", "会议费用", "培训经费", "信访处理", "执法案卷", "工程招标", "印章管理",
           "人事调动", "津贴发放", "债务清理", "制度建设", "安全生产", "意识形态", "廉政教育", "巡察整改"]
# phrases of rows a later sheet adds: unlike any original's
NEW = ["食堂采买", "档案数字化", "网络安全", "保密检查", "统计造假", "扶贫资金"]
TAILS = ["不规范", "不到位", "不彻底", "不严格", "不完整", "有漏洞"]
counter = itertools.count()


@st.composite
def ledgers(draw: st.DrawFn) -> list[str]:
    n = draw(st.integers(3, 7))
    phrases = draw(st.permutations(PHRASES))[: 2 * n]
    return [f"{phrases[2 * i]}{phrases[2 * i + 1]}{draw(st.sampled_from(TAILS))}问题" for i in range(n)]


@st.composite
def edits(draw: st.DrawFn, titles: list[str]) -> tuple[list[str], dict[str, str]]:
    """The next sheet's titles in order, and original -> reworded."""
    kept = [t for t in titles if draw(st.booleans()) or len(titles) < 3]
    reworded = {}
    for t in kept:
        if draw(st.integers(0, 3)) == 0:  # one character changed
            at = draw(st.integers(0, len(t) - 1))
            reworded[t] = t[:at] + "某" + t[at + 1:]
    added = [f"{p}{q}未列入事项" for p, q in zip(*[iter(draw(st.permutations(NEW))[:4])] * 2, strict=True)
             if draw(st.booleans())]
    order = [reworded.get(t, t) for t in kept] + added or [titles[0]]  # a sheet has a row at least
    return draw(st.permutations(order)), reworded


def _write(folder: Path, titles: list[str], owners: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "整改台账.csv"
    rows = [f"{n},{t},一是整改,胡志云,{(owners or {}).get(t, '周敏')},2027年3月31日,未完成"
            for n, t in enumerate(titles, start=1)]
    path.write_text("序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _import(engine: Engine, path: Path, unit: str, now: dt.datetime, choices: ImportChoices | None = None) -> None:
    parsed = read_ledger(path)
    parsed.unit, parsed.unit_found = unit, True
    with db.transaction(engine) as s:
        save_ledger(parsed, now, session=s, choices=choices or ImportChoices())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_edits_keep_every_record_with_its_problem(engine: Engine, data: st.DataObject) -> None:
    titles = data.draw(ledgers())
    order, reworded = data.draw(edits(titles))
    unit = f"单位{next(counter)}"
    work = Path(tempfile.mkdtemp(prefix="rectify-identity-"))
    _import(engine, _write(work / "w1", titles), unit, NOW)
    settings_ = load_settings(None)
    closed, extended, progressed = titles[0], titles[1], titles[2]
    with db.transaction(engine) as s:
        rid = s.scalar(select(Round.id).join(Unit).where(Unit.name == unit))
        get = {t: s.scalars(select(Item).where(Item.round_id == rid, Item.title == t)).one() for t in titles}
        lifecycle.close(get[closed], [{"kind": "text", "text": "已整改"}], "刘立强", Act.at("周敏", NOW), settings_,
                        session=s)
        lifecycle.extend(get[extended], dt.date(2027, 6, 30), "跨年度", Act.at("胡志云", NOW), settings_, session=s)
        lifecycle.record_progress(get[progressed], "已推进", Act.at("周敏", NOW), session=s)
    _import(engine, _write(work / "w2", order), unit, LATER)

    with db.transaction(engine) as s:
        found = list(s.scalars(select(Item).where(Item.round_id == rid)))
        by_title = {i.title: i for i in found}
        # nothing lost, nothing created twice: every original is there, under its new wording
        assert len(found) == len(titles) + sum(1 for t in order if "未列入事项" in t)
        assert len({i.title for i in found}) == len(found)
        for t in titles:
            item = by_title[reworded.get(t, t)]
            in_sheet = reworded.get(t, t) in order
            assert item.listed == in_sheet
            assert (item.no == order.index(item.title) + 1) if in_sheet else (item.former_no is not None)
        # what people recorded stayed with its problem
        assert by_title[reworded.get(closed, closed)].status == "done"
        assert by_title[reworded.get(extended, extended)].extension_count == 1
        assert by_title[reworded.get(progressed, progressed)].progress == "已推进"
        # the sheet's numbers name the sheet's rows
        for n, t in enumerate(order, start=1):
            assert items.get_item(n, session=s, round_id=rid).title == t


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_close_title_with_other_people_never_takes_a_record_unasked(engine: Engine, data: st.DataObject) -> None:
    """The random week also drops a problem someone recorded progress on and lists, somewhere,
    a different problem with a close title and another owner: the import asks and writes
    nothing; said to be new, it is new, and the progress stays with the dropped problem."""
    titles = data.draw(ledgers())
    order, reworded = data.draw(edits(titles))
    recorded = titles[2]
    order = [t for t in order if t != reworded.get(recorded, recorded)]
    at = data.draw(st.integers(0, len(recorded) - 2))
    impostor = recorded[:at] + "另" + recorded[at + 1:]
    row = data.draw(st.integers(0, len(order)))
    order.insert(row, impostor)
    unit = f"单位{next(counter)}"
    work = Path(tempfile.mkdtemp(prefix="rectify-identity-"))
    _import(engine, _write(work / "w1", titles), unit, NOW)
    with db.transaction(engine) as s:
        rid = s.scalar(select(Round.id).join(Unit).where(Unit.name == unit))
        item = s.scalars(select(Item).where(Item.round_id == rid, Item.title == recorded)).one()
        lifecycle.record_progress(item, "已推进", Act.at("周敏", NOW), session=s)

    def state() -> list[tuple[object, ...]]:
        with db.transaction(engine) as s:
            return [(i.id, i.no, i.listed, i.title, i.owner, i.progress)
                    for i in s.scalars(select(Item).where(Item.round_id == rid).order_by(Item.id))]

    before = state()
    week2 = _write(work / "w2", order, {impostor: "赵六"})
    with pytest.raises(RefusedError, match="赵六"):
        _import(engine, week2, unit, LATER)
    assert state() == before
    _import(engine, week2, unit, LATER, ImportChoices(new=(row + 1,)))
    with db.transaction(engine) as s:
        found = {i.title: i for i in s.scalars(select(Item).where(Item.round_id == rid))}
        assert found[recorded].progress == "已推进" and found[recorded].owner == "周敏" and not found[recorded].listed
        assert found[impostor].owner == "赵六" and found[impostor].progress is None and found[impostor].no == row + 1
