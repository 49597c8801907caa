"""Item identity survives how offices edit a 台账: rows deleted and the rest renumbered,
a title reworded, the sheet re-sorted and numbered afresh. What people recorded in
rectify (a closure, an extension, progress) stays with its problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from rectify_core.ledger import db
from rectify_core.ledger.models import Closure, Event, ImportBatch, Item
from rectify_core.vocab import EventKind

UNIT = "区交通运输局"
HEAD = "序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n"
PROBLEMS = [  # (title, owner, deadline)
    ("干部人事档案管理不规范", "周敏", "2026年12月31日"),
    ("上轮巡察整改不彻底", "王芳", "2026年12月31日"),
    ("发展党员程序不规范", "赵磊", "2027年1月31日"),
    ("公务接待清单不完整", "李娜", "2027年2月28日"),
    ("政府采购制度执行不到位", "刘强", "2027年3月31日"),
    ("三会一课质量不高", "陈静", "2027年3月31日"),
]


def sheet(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    """The week's sheet, under the one name an office keeps it by (the round is found by it)."""
    folder.mkdir(exist_ok=True)
    path = folder / "整改台账.csv"
    lines = [f"{n},{title},一是梳理问题清单,胡志云,{owner},{due},未完成" for n, (title, owner, due) in
             enumerate(rows, start=1)]
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def by_title(engine: Engine) -> dict[str, Item]:
    with db.transaction(engine) as s:
        found = {i.title: i for i in s.scalars(select(Item))}
        for item in found.values():
            s.expunge(item)
        return found


def test_three_weeks_of_an_edited_ledger_keep_what_people_recorded(cli: Any, db_url: str, engine: Engine,
                                                                    tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", PROBLEMS)),
                "--date", "2026-11-02"]).code == 0
    # people record their work in rectify: a closure, an extension, progress
    assert cli([*base, "close", "1", "--evidence-text", "档案已全部整理", "--by", "周敏",
                "--verified-by", "刘立强", "--date", "2026-11-05"]).code == 0
    assert cli([*base, "extend", "3", "--to", "2027-03-31", "--reason", "跨年度", "--approved-by", "胡志云",
                "--date", "2026-11-05"]).code == 0
    assert cli([*base, "progress", "5", "--text", "已清查采购事项12项", "--by", "刘强",
                "--date", "2026-11-05"]).code == 0

    # week 2: row 2 deleted, the rest renumbered
    week2 = [PROBLEMS[0], *PROBLEMS[2:]]
    dry = cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", week2)), "--dry-run"])
    assert dry.code == 0 and "本次台账未列出：上轮巡察整改不彻底（原2）" in dry.out
    assert "序号变化 4 条" in dry.out and "发展党员程序不规范" in dry.out
    done = cli([*base, "import", "--unit", UNIT, str(tmp_path / "w2" / "整改台账.csv"), "--date", "2026-11-09"])
    assert done.code == 0 and "本次台账未列出：上轮巡察整改不彻底（原2）" in done.out
    items = by_title(engine)
    assert items["发展党员程序不规范"].no == 2 and items["发展党员程序不规范"].extension_count == 1
    assert items["政府采购制度执行不到位"].no == 4 and items["政府采购制度执行不到位"].progress == "已清查采购事项12项"
    assert items["干部人事档案管理不规范"].status == "done" and items["干部人事档案管理不规范"].no == 1
    gone = items["上轮巡察整改不彻底"]
    assert not gone.listed and gone.former_no == 2 and gone.status == "open" and gone.no < 0
    assert "发展党员程序不规范" in cli([*base, "show", "2"]).out      # 2 is the sheet's 2 now
    listed = cli([*base, "items"]).out
    assert "原2" in listed and "上轮巡察整改不彻底（本次台账未列出）" in listed

    # week 3: a title reworded by a few characters, then the sheet sorted by deadline, numbered afresh
    week3 = [week2[4], week2[3], ("发展党员工作程序不够规范", "赵磊", "2027年1月31日"), week2[2], week2[0]]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w3", week3)), "--date", "2026-11-16"]).code == 0
    items = by_title(engine)
    assert "发展党员程序不规范" not in items                     # reworded, not created anew
    moved = items["发展党员工作程序不够规范"]
    assert moved.no == 3 and moved.extension_count == 1 and moved.extended_to is not None
    assert items["政府采购制度执行不到位"].no == 2 and items["政府采购制度执行不到位"].progress
    assert items["干部人事档案管理不规范"].no == 5 and items["干部人事档案管理不规范"].status == "done"
    with db.transaction(engine) as s:
        assert s.scalar(select(Item.id).where(Item.title == "干部人事档案管理不规范")) == \
            s.scalar(select(Closure.item_id))                  # the closure stayed with its problem
        assert len(s.scalars(select(Item)).all()) == len(PROBLEMS)   # nothing created twice
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.item_id == moved.id).order_by(Event.id))]
    assert kinds.count(EventKind.RENUMBERED) == 2 and "extended" in kinds

    # an unchanged file records no batch
    with db.transaction(engine) as s:
        batches = len(s.scalars(select(ImportBatch)).all())
    again = cli([*base, "import", "--unit", UNIT, str(tmp_path / "w3" / "整改台账.csv")])
    assert again.code == 0 and "无变化" in again.out
    with db.transaction(engine) as s:
        assert len(s.scalars(select(ImportBatch)).all()) == batches


def test_withdraw_merge_and_reinstate_are_transitions(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", PROBLEMS))]).code == 0
    dropped = sheet(tmp_path / "w2", PROBLEMS[:4])                       # 5 and 6 no longer listed
    assert cli([*base, "import", "--unit", UNIT, str(dropped)]).code == 0
    # 5 and 6 are numbers no row of the sheet has now: a plain number does not reach them
    plain = cli([*base, "withdraw", "5", "--reason", "经巡察办同意不再列入", "--by", "刘立强"])
    assert plain.code != 0 and "原5" in plain.err
    withdrawn = cli([*base, "withdraw", "原5", "--reason", "经巡察办同意不再列入", "--by", "刘立强"])
    assert withdrawn.code == 0 and "已撤销" in withdrawn.out
    merged = cli([*base, "merge", "原6", "--into", "4", "--by", "刘立强"])
    assert merged.code == 0 and "并入问题4" in merged.out
    items = by_title(engine)
    assert items["政府采购制度执行不到位"].status == "withdrawn"
    assert items["三会一课质量不高"].status == "merged" and items["三会一课质量不高"].merged_into == \
        items["公务接待清单不完整"].id
    trail = cli([*base, "show", "4", "--json"]).json()
    assert any(e["kind"] == "merged_in" for e in trail["events"])
    planned = cli([*base, "check", "--date", "2026-12-01", "--json"]).json()
    assert {p["no"] for p in planned} == {1, 2, 3, 4}           # no more reminders for 5 and 6
    # refused with a clear message: unknown, already set aside, into itself
    for args, words in ((["withdraw", "99", "--reason", "x", "--by", "a"], "没有问题99"),
                        (["withdraw", "原5", "--reason", "x", "--by", "a"], "已撤销"),
                        (["merge", "4", "--into", "4", "--by", "a"], "另一个问题")):
        refused = cli([*base, *args])
        assert refused.code != 0 and words in refused.err and "Traceback" not in refused.err
    assert cli([*base, "reinstate", "原5", "--by", "刘立强"]).code == 0
    assert by_title(engine)["政府采购制度执行不到位"].status == "open"


def test_an_ambiguous_sheet_is_refused_with_its_candidates(cli: Any, db_url: str, engine: Engine,
                                                            tmp_path: Path) -> None:
    base = ["--db", db_url]
    first = [("财务报销审核不严格问题一", "周敏", "2026年12月31日"),
             ("财务报销审核不严格问题二", "王芳", "2026年12月31日")]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", first))]).code == 0
    # both titles reworded into one near-identical wording: which is which cannot be told
    second = [("财务报销审核不够严格问题", "周敏", "2026年12月31日"),
              ("财务报销审核不够严格问题", "李娜", "2026年12月31日")]
    before = by_title(engine)
    refused = cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", second))])
    assert refused.code != 0 and "无法确定" in refused.err and "相似" in refused.err and "--match" in refused.err
    assert by_title(engine).keys() == before.keys()            # nothing written
    chosen = cli([*base, "import", "--unit", UNIT, str(tmp_path / "w2" / "整改台账.csv"),
                  "--match", "1=1", "--match", "2=2"])
    assert chosen.code == 0, chosen.err
    with db.transaction(engine) as s:
        owners = {i.no: i.owner for i in s.scalars(select(Item))}
    assert owners == {1: "周敏", 2: "李娜"}                      # the two items, as the clerk matched them


def test_event_texts_are_chinese_without_paths(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    """Field names in Chinese, no Python None, a file's name and never its path; a person's
    page shows no file names at all."""
    from rectify_core.ledger.items import event_text

    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", PROBLEMS))]).code == 0
    changed = [(t.replace("不规范", "不够规范"), o, "") if n == 0 else (t, o, d)
               for n, (t, o, d) in enumerate(PROBLEMS)]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", changed))]).code == 0
    with db.transaction(engine) as s:
        events = list(s.scalars(select(Event).where(Event.kind.in_(("updated", "status_changed")))))
        texts = [event_text(e) for e in events]
        for_person = [event_text(e, files=False) for e in events]
    assert texts and all("问题" in t and "整改时限" in t for t in texts)
    assert not any(w in t for t in texts for w in ("title", "deadline", "None", str(tmp_path)))
    assert all("整改台账.csv" in t for t in texts) and not any("整改台账.csv" in t for t in for_person)


def test_undoing_a_renumbering_import_restores_numbers_and_the_sheet(cli: Any, db_url: str, engine: Engine,
                                                                    tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", PROBLEMS))]).code == 0
    before = {t: (i.no, i.listed) for t, i in by_title(engine).items()}
    week2 = [PROBLEMS[0], *PROBLEMS[2:], ("新增的印章管理问题", "陈静", "2027年3月31日")]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", week2))]).code == 0
    assert by_title(engine)["发展党员程序不规范"].no == 2
    report = tmp_path / "report.txt"
    assert cli([*base, "report", "-o", str(report)]).code == 0     # the report names what the sheet dropped
    assert "本次台账未列出" in report.read_text(encoding="utf-8") and "上轮巡察整改不彻底（原2" in \
        report.read_text(encoding="utf-8")
    with db.transaction(engine) as s:
        batch = max(b.id for b in s.scalars(select(ImportBatch)))
    undone = cli([*base, "imports", "undo", str(batch)])
    assert undone.code == 0, undone.err
    assert {t: (i.no, i.listed) for t, i in by_title(engine).items()} == before


def test_a_resorted_sheet_is_parked_in_chunks(cli: Any, db_url: str, engine: Engine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Renumbered items are parked a chunk at a time (no driver binds a hundred thousand
    parameters; PostgreSQL stops at 65,535): chunks of two give what one statement gives."""
    from rectify_core.ledger import sheet as sheet_mod

    monkeypatch.setattr(sheet_mod, "PARK_CHUNK", 2)
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", PROBLEMS))]).code == 0
    resorted = list(reversed(PROBLEMS))
    done = cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", resorted))])
    assert done.code == 0, done.err
    items = by_title(engine)
    assert {t: items[t].no for t, _, _ in resorted} == {t: n for n, (t, _, _) in enumerate(resorted, start=1)}
    assert len(items) == len(PROBLEMS) and all(i.listed for i in items.values())
