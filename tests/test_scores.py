"""结果考评 from the record: a county of four units with histories written here (on-time
and late closures, two extensions, a rebound, reminders answered and not, a closure
without a file, progress reported and not), scored as of 2026-12-10 and checked against
what the rules give by hand; the frozen period stays as it was after a later closure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rectify_core.config.calendar import local_datetime
from rectify_core.config.rules import load_rules
from rectify_core.config.scoring import Scoring
from rectify_core.config.settings import load_settings
from rectify_core.deadlines.scoring import Closure, ItemRecord, score_units
from rectify_core.errors import ConfigError
from rectify_core.ledger import db, lifecycle
from rectify_core.ledger.act import Act
from rectify_core.ledger.models import Closure as ClosureRow
from rectify_core.ledger.models import Item, LookbackTask, Notice, Round, Unit
from rectify_core.vocab import NoticeKind, NoticeState, Role, TaskState
from tests.test_print import PDFTOTEXT, SOFFICE, flat, pages, to_pdf

A, B, C, D = "区审计局党组", "区交通运输局党组", "区教育局党组", "区档案馆党组"
COUNTY = f"""2026年区委第一轮巡察反馈问题整改台账
序号,被巡察单位,问题,责任领导,责任人,整改时限,完成情况
1,{A},审计整改跟踪不到位,张华,王芳,2026年11月30日,未完成
2,{A},办公室用房超标,张华,刘洋,2026年11月13日,未完成
3,{A},公务接待不规范,张华,刘洋,2026年12月31日,未完成
4,{A},会议费超标,张华,王芳,2026年11月16日,未完成
1,{B},政府采购制度执行不到位,胡志云,周敏,2026年11月06日,未完成
2,{B},行政执法案卷质量不高,胡志云,王芳,2026年12月30日,阶段性完成
3,{B},要素制约破解不到位,刘立强,周敏,2027年03月31日,阶段性完成
1,{C},校服采购不规范,李强,赵敏,2026年11月20日,未完成
2,{C},食堂管理不规范,李强,赵敏,2026年12月31日,未完成
3,{C},体育设施闲置,李强,赵敏,2027年06月30日,未完成
1,{D},档案数字化滞后,钱进,孙丽,2026年11月02日,未完成
2,{D},库房安全隐患,钱进,孙丽,2027年06月30日,未完成
"""
RULES = """[scoring]
grades = [["好", 97], ["较好", 95], ["一般", 60], ["差", 0]]
"""
DAY = dt.date(2026, 12, 10)


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "rules.toml").write_text(RULES, encoding="utf-8")
    return config


def _item(session: Session, unit: str, no: int) -> Item:
    return session.scalars(select(Item).join(Round).join(Unit).where(Unit.name == unit, Item.no == no)).one()


def _notice(session: Session, item: Item, day: dt.date, role: Role) -> None:
    session.add(Notice(dedup_key=f"test:{item.id}:{day}:{role}", item_id=item.id, round_id=item.round_id, due=day,
                       step_key="s", step_name="督办通知", ladder="v", recipient="赵敏", recipient_unit=C,
                       kind=NoticeKind.ITEM, role=role, reason="测试", planned_on=day, state=NoticeState.SENT,
                       created_at=local_datetime(day, 9), sent_at=local_datetime(day, 9, 5)))


def _histories(cli: Any, db_url: str, engine: Engine, tmp_path: Path, config: Path) -> None:
    """What happened in the county between September and December, through the commands
    a clerk uses (and, for what only the web or the look-back sweep records, their transitions)."""
    base = ["--db", db_url, "--config", str(config)]
    ledger = tmp_path / "全区台账.csv"
    ledger.write_text(COUNTY, encoding="utf-8")
    assert cli([*base, "import", str(ledger), "--date", "2026-09-01"]).code == 0
    proof = tmp_path / "整改报告.pdf"
    proof.write_bytes(b"%PDF-1.4 report")
    steps = [
        ["close", "1", "--unit", A, "--evidence", str(proof), "--by", "王芳", "--verified-by", "张华",
         "--date", "2026-11-20"],
        ["close", "2", "--unit", A, "--evidence-text", "已腾退", "--by", "刘洋", "--verified-by", "张华",
         "--date", "2026-11-27"],
        ["extend", "3", "--unit", A, "--to", "2027-01-29", "--reason", "跨年度", "--approved-by", "张华",
         "--date", "2026-11-02"],
        ["extend", "3", "--unit", A, "--to", "2027-02-26", "--reason", "仍需", "--approved-by", "张华",
         "--date", "2026-11-03"],
        ["close", "1", "--unit", B, "--evidence", str(proof), "--by", "周敏", "--verified-by", "胡志云",
         "--date", "2026-11-05"],
        ["progress", "2", "--unit", B, "--text", "已完成案卷评查", "--by", "王芳", "--date", "2026-11-20"],
    ]
    with db.transaction(engine) as s:  # B's round was fed back on 09-01: its progress is asked from then
        b_round = s.scalars(select(Round.id).join(Unit).where(Unit.name == B)).one()
    steps.append(["rounds", "edit", str(b_round), "--feedback-date", "2026-09-01"])
    for args in steps:
        done = cli([*base, *args])
        assert done.code == 0, (args, done.err)
    with db.transaction(engine) as s:
        rebound = _item(s, B, 1)
        closure = s.scalars(select(ClosureRow).where(ClosureRow.item_id == rebound.id)).one()
        s.add(LookbackTask(item_id=rebound.id, closure_id=closure.id, reviewer="巡察办", due=dt.date(2026, 12, 31),
                           state=TaskState.DUE, created_at=local_datetime(dt.date(2026, 11, 25), 9)))
        reminded = _item(s, C, 2)
        for day in (dt.date(2026, 11, 25), dt.date(2026, 12, 3), dt.date(2026, 12, 9)):
            _notice(s, reminded, day, Role.OWNER)
        _notice(s, reminded, dt.date(2026, 11, 25), Role.LEADER)  # the same day's reminder to the leader: one
        lifecycle.acknowledge(reminded, Act.at("赵敏", local_datetime(dt.date(2026, 12, 4), 10)), session=s)
    found = cli([*base, "lookback", "record", "1", "--unit", B, "--outcome", "反弹", "--note", "问题复现",
                 "--by", "巡察办", "--date", "2026-12-01"])
    assert found.code == 0, found.err


@pytest.fixture
def county(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> tuple[list[str], Path]:
    config = _config(tmp_path)
    _histories(cli, db_url, engine, tmp_path, config)
    return ["--db", db_url, "--config", str(config)], config


MEASURES = ("items", "due", "on_time", "overdue_items", "overdue_working_days", "extensions", "extended_twice",
            "looked_back", "rebounds", "reminders", "answered", "closures", "closures_with_evidence",
            "progress_due", "progress_missed", "score", "grade", "rank")


def test_every_measure_and_deduction_is_what_the_rules_give(cli: Any, county: tuple[list[str], Path]) -> None:
    base, _ = county
    got = {s["unit"]: s for s in cli([*base, "scores", "--date", DAY.isoformat(), "--json"]).json()}
    measures = {u: tuple(s[k] for k in MEASURES) for u, s in got.items()}
    # A: 1 closed on time with a file; 2 closed ten working days late with words only; 3
    # extended twice; 4 open 18 working days past 11-16 (2 points: every 10 or part)
    assert measures[A] == (4, 3, 1, 1, 18, 2, 1, 0, 0, 0, 0, 2, 1, 0, 0, 94, "一般", 3)
    # B: 1 closed on time, then found back at the look-back and reopened (due 2027-02-01);
    # 2 reported progress on 11-20 (in its month); 3 reported nothing since 11-10
    assert measures[B] == (3, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 2, 1, 96, "较好", 2)
    # C: 1 open 14 working days past 11-20; of 2's reminders 11-25 went unanswered (read on
    # 12-04, six working days on), 12-03 was read on 12-04, 12-09 still has time
    assert measures[C] == (3, 1, 0, 1, 14, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 97.5, "好", 1)
    # D: two items, fewer than min_items: measured, not graded
    assert measures[D][:5] == (2, 1, 0, 1, 28) and measures[D][-3:] == (None, "不评", None)
    lost = {u: sorted((d["ref"], d["measure"], d["points"]) for d in s["deductions"]) for u, s in got.items()}
    assert lost[A] == [("2", "late", 1), ("2", "no_evidence", 2), ("3", "extensions", 1), ("4", "overdue", 2)]
    assert lost[B] == [("1", "rebounds", 3), ("3", "no_progress", 1)]
    assert lost[C] == [("1", "overdue", 2), ("2", "unanswered", 0.5)]
    assert got[A]["on_time_rate"] == 33.3 and got[B]["on_time_rate"] == 100.0


def test_explain_names_each_item_the_fact_and_the_rule(cli: Any, county: tuple[list[str], Path]) -> None:
    base, _ = county
    text = cli([*base, "scores", "--date", DAY.isoformat(), "--unit", "审计局", "--explain"]).out
    assert "【区审计局党组】得分 94，一般，第3名" in text
    assert "问题4 逾期18个工作日（整改时限2026-11-16），扣2分（规则：逾期每10个工作日扣1分，上限20分）" in text
    assert "问题2 2026-11-27完成，晚于整改时限2026-11-13（10个工作日），扣1分" in text
    assert "问题2 2026-11-27销号时没有佐证材料文件，扣2分" in text and "问题3 延期2次，扣1分" in text
    assert "区交通运输局" not in text


def test_a_frozen_period_stays_after_a_later_closure(cli: Any, county: tuple[list[str], Path],
                                                     tmp_path: Path) -> None:
    base, _ = county
    frozen = cli([*base, "scores", "--freeze", "--period", "2026q4", "--date", DAY.isoformat(), "--by", "巡察办",
                  "--json"])
    assert frozen.code == 0, frozen.err
    proof = tmp_path / "会议费.pdf"
    proof.write_bytes(b"%PDF-1.4 refund")
    assert cli([*base, "close", "4", "--unit", A, "--evidence", str(proof), "--by", "王芳", "--verified-by", "张华",
                "--date", "2026-12-11"]).code == 0
    later = {s["unit"]: s for s in cli([*base, "scores", "--date", "2026-12-11", "--json"]).json()}
    assert later[A]["overdue_items"] == 0 and later[A]["score"] == 95           # now closed late, not overdue
    kept = cli([*base, "scores", "--period", "2026Q4", "--json"]).json()
    assert kept == frozen.json() and {s["unit"]: s["score"] for s in kept}[A] == 94
    again = cli([*base, "scores", "--freeze", "--period", "2026Q4", "--date", "2026-12-11"])
    assert again.code == 1 and "已于 2026-12-10 固定" in again.err and "--force" in again.err
    forced = cli([*base, "scores", "--freeze", "--period", "2026Q4", "--date", "2026-12-11", "--force", "--json"])
    assert forced.code == 0 and {s["unit"]: s["score"] for s in forced.json()}[A] == 95
    assert cli([*base, "scores", "--period", "2026Q4", "--json"]).json() == forced.json()


def test_a_period_is_written_as_a_quarter(cli: Any, county: tuple[list[str], Path]) -> None:
    base, _ = county
    wrong = cli([*base, "scores", "--freeze", "--period", "2026-12"])
    assert wrong.code == 1 and "2026Q4" in wrong.err and "Traceback" not in wrong.err
    none = cli([*base, "scores", "--period", "2025Q1"])
    assert none.code == 1 and "尚未固定" in none.err


@pytest.mark.parametrize(("text", "key"), [
    ("[scoring.overdue]\npoints = -1\n", "scoring.overdue.points"),
    ("[scoring.lateness]\npoints = 1\n", "scoring.lateness"),
    ('[scoring]\ngrades = [["好", 60], ["差", 80], ["中", 0]]\n', "scoring.grades"),
    ('[scoring]\ngrades = [["好", 90], ["差", 10]]\n', "scoring.grades"),
    ("[scoring]\nmin_items = 1.5\n", "scoring.min_items"),
])
def test_bad_scoring_rules_are_refused_in_words(tmp_path: Path, cli: Any, sqlite_url: str, text: str,
                                                key: str) -> None:
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_rules(tmp_path)
    assert refused.value.key == key
    said = cli(["--db", sqlite_url, "--config", str(tmp_path), "scores"])
    assert said.code == 1 and key in said.err and "Traceback" not in said.err


# --- the rules as a pure function --------------------------------------------------------

CAL = load_settings(None).calendar
days = st.dates(dt.date(2026, 9, 1), dt.date(2027, 3, 31))
records = st.builds(
    ItemRecord, unit=st.sampled_from(["甲", "乙"]), ref=st.integers(1, 40).map(str),
    status=st.sampled_from(["open", "ongoing", "done"]), long_term=st.booleans(),
    due=st.one_of(st.none(), days), since=days, extensions=st.integers(0, 3),
    closures=st.lists(st.builds(Closure, closed_on=days, files=st.integers(0, 2)), max_size=2).map(tuple),
    lookbacks=st.lists(st.sampled_from(["consolidated", "rebound"]), max_size=2).map(tuple),
    reminders=st.lists(days, max_size=3).map(lambda d: tuple(sorted(set(d)))),
    answers=st.lists(days, max_size=3).map(lambda d: tuple(sorted(d))),
    progress=st.lists(days, max_size=2).map(lambda d: tuple(sorted(d))))


@settings(max_examples=300, deadline=None)
@given(history=st.lists(records, min_size=3, max_size=12, unique_by=lambda r: (r.unit, r.ref)), day=days,
       pick=st.integers(0, 11))
def test_an_on_time_closure_never_lowers_a_score(history: list[ItemRecord], day: dt.date, pick: int) -> None:
    """Closing an open item by its deadline, with evidence, before the day scored."""
    rules = Scoring()
    before = {s.unit: s.score for s in score_units(history, ["甲", "乙"], day, rules, CAL, 1)}
    item = history[pick % len(history)]
    if item.status == "done" or item.due is None or item.due < item.since:
        return
    closed_on = min(item.due, day)
    if closed_on < item.since:
        return
    closed = dataclasses.replace(item, status="done", closures=(*item.closures, Closure(closed_on, 1)))
    after = {s.unit: s.score for s in score_units([closed if r is item else r for r in history], ["甲", "乙"], day,
                                                  rules, CAL, 1)}
    assert all((after[u] or 0) >= (before[u] or 0) for u in before)


# --- where the office sees it ------------------------------------------------------------

@pytest.mark.skipif(SOFFICE is None or PDFTOTEXT is None,
                    reason="LibreOffice or poppler-utils not installed (.ci/run installs them)")
def test_the_bulletin_prints_the_scores_table(cli: Any, county: tuple[list[str], Path], tmp_path: Path) -> None:
    base, _ = county
    out = tmp_path / "通报.docx"
    assert cli([*base, "bulletin", "--date", DAY.isoformat(), "-o", str(out)]).code == 0
    text = flat("".join(pages(to_pdf(out), raw=True)))
    table = text[text.index("四、结果考评"):text.index("五、有关要求")]
    assert table.index(f"1{C}97.5好") < table.index(f"2{B}96较好") < table.index(f"3{A}94一般") \
        < table.index(f"—{D}—不评")
    assert f"3{A}94一般问题4逾期扣2分；问题2销号无佐证扣2分；问题2逾期完成扣1分" in table


def test_the_county_export_explains_every_deduction(cli: Any, county: tuple[list[str], Path],
                                                    tmp_path: Path) -> None:
    from openpyxl import load_workbook

    base, _ = county
    out = tmp_path / "全区台账.xlsx"
    assert cli([*base, "export", "--date", DAY.isoformat(), "-o", str(out)]).code == 0
    sheet = load_workbook(out)["考评说明"]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]
    mine = [r for r in rows if r[1] == A]
    assert [(r[0], r[2], r[3], r[4], r[5], r[6]) for r in mine] == [
        (3, 94, "一般", "问题4", "逾期", 2), (3, 94, "一般", "问题2", "逾期完成", 1),
        (3, 94, "一般", "问题3", "多次延期", 1), (3, 94, "一般", "问题2", "销号无佐证", 2)]
    assert [r[1:4] for r in rows if r[1] == D] == [(D, "—", "不评")]
    again = cli([*base, "import", str(out), "--dry-run"])
    assert again.code == 0 and "考评说明" in again.out                     # left aside on re-import


def test_the_county_dashboard_ranks_the_scores(cli: Any, county: tuple[list[str], Path], tmp_path: Path) -> None:
    base, _ = county
    out = tmp_path / "看板.html"
    assert cli([*base, "dashboard", "--date", DAY.isoformat(), "-o", str(out)]).code == 0
    text = re.sub(r"<[^>]+>", "|", out.read_text(encoding="utf-8"))
    part = text[text.index("结果考评"):]
    assert f"|1||{C}||97.5||好|" in part and f"|3||{A}||94||一般||问题4逾期扣2分" in part


def test_the_county_export_is_the_same_however_many_rounds_are_read_at_once(
        cli: Any, county: tuple[list[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The county 台账 reads its rounds' views a batch at a time and lets each go once its
    sheet is made: read one round at a time, the workbook is the same, part for part (its
    sheets' order, every row, the 汇总 counted as the views pass, the 考评说明)."""
    import zipfile

    from openpyxl import load_workbook

    from rectify_core.documents import county as county_files

    base, _ = county

    def parts(rounds_at_once: int) -> dict[str, bytes]:
        monkeypatch.setattr(county_files, "ROUNDS_AT_ONCE", rounds_at_once)
        out = tmp_path / f"全区台账-{rounds_at_once}.xlsx"
        assert cli([*base, "export", "--date", DAY.isoformat(), "-o", str(out)]).code == 0
        with zipfile.ZipFile(out) as book:
            return {n: book.read(n) for n in book.namelist() if n != "docProps/core.xml"}  # (its time)

    together, one_by_one = parts(50), parts(1)
    assert one_by_one == together
    book = load_workbook(tmp_path / "全区台账-1.xlsx")
    assert len(book.sheetnames) == 6 and book.sheetnames[4:] == ["汇总", "考评说明"]  # four rounds before them
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary == {A: 4, B: 3, C: 3, D: 2, "合计": 12}  # every unit counted as its view passed


def test_the_scores_are_the_same_however_many_units_are_read_at_once(
        cli: Any, county: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """结果考评 reads its facts a batch of units at a time (so what it holds does not grow
    with the county): one unit at a time, two, or all at once, every unit's measures,
    deductions, score and rank are the same — and so is one unit's own."""
    from rectify_core.ledger import scorefacts

    base, _ = county

    def scored(units_at_once: int, *more: str) -> Any:
        monkeypatch.setattr(scorefacts, "UNITS_AT_ONCE", units_at_once)
        done = cli([*base, "scores", "--date", DAY.isoformat(), "--json", "--explain", *more])
        assert done.code == 0, done.err
        return done.json()

    together = scored(50)
    assert len(together) == 4 and {s["unit"] for s in together} == {A, B, C, D}
    assert scored(1) == together and scored(2) == together
    assert scored(1, "--unit", A) == [s for s in together if s["unit"] == A]
