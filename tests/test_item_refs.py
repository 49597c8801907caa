"""Every problem has one name a clerk can type (issue 35): `13` is the latest sheet's row 13,
`原13` the item that had 13 when the sheet last listed it. A plain number never reaches an
item set aside; a close title never carries what a person recorded onto another problem
without the clerk saying so; every view counts the same items."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from rectify_core import refs
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item
from rectify_core.vocab import ItemState

UNIT = "区交通运输局"
HEAD = "序号,问题类别,问题,整改措施,责任领导,责任人,整改时限,完成情况\n"
Row = tuple[str, str, str, str]  # (category, title, owner, deadline)

WEEK1: list[Row] = [
    ("纪律作风", "干部人事档案管理不规范", "周敏", "2026-12-31"),
    ("纪律作风", "违规发放津补贴", "周敏", "2026-12-31"),
    ("党的建设", "发展党员程序不规范", "赵磊", "2027-01-31"),
    ("党的建设", "公务接待清单不完整", "李娜", "2027-02-28"),
]


def sheet(folder: Path, rows: list[Row], leader: str = "胡志云") -> Path:
    """A week's sheet, under the one name the office keeps it by."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "整改台账.csv"
    lines = [f"{n},{cat},{title},一是梳理问题清单,{leader},{owner},{due},未完成"
             for n, (cat, title, owner, due) in enumerate(rows, start=1)]
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with db.transaction(engine) as s:
        return [(i.id, i.no, i.listed, i.former_no, i.owner, i.status, i.progress, i.title)
                for i in s.scalars(select(Item).order_by(Item.id))]


def by_title(engine: Engine) -> dict[str, Item]:
    with db.transaction(engine) as s:
        found = {i.title: i for i in s.scalars(select(Item))}
        s.expunge_all()
    return found


def test_a_close_title_with_other_people_is_asked_not_taken(cli: Any, db_url: str, engine: Engine,
                                                            tmp_path: Path) -> None:
    base = ["--db", db_url, "import", "--unit", UNIT]
    assert cli([*base, str(sheet(tmp_path / "w1", WEEK1)), "--date", "2026-11-02"]).code == 0
    assert cli(["--db", db_url, "progress", "2", "--text", "已清退8.2万元", "--by", "周敏",
                "--date", "2026-11-05"]).code == 0
    # week 2: 违规发放津补贴 dropped, a different problem with a close title and another owner added
    week2 = [WEEK1[0], WEEK1[2], WEEK1[3], ("纪律作风", "违规发放加班补贴", "赵六", "2027-03-31")]
    path = sheet(tmp_path / "w2", week2)
    before = snapshot(engine)
    for dry in ([], ["--dry-run"]):
        asked = cli([*base, str(path), *dry])
        assert asked.code != 0 and "Traceback" not in asked.err
        assert "违规发放津补贴" in asked.err and "违规发放加班补贴" in asked.err
        assert "周敏" in asked.err and "赵六" in asked.err and "进展" in asked.err
        assert "--new 4" in asked.err and "--match 2=4" in asked.err
        assert snapshot(engine) == before                       # nothing written
    # the clerk says it is a new problem: the progress stays with the dropped one, now 原2
    done = cli([*base, str(path), "--new", "4", "--date", "2026-11-09"])
    assert done.code == 0, done.err
    assert "违规发放津补贴（原2）" in done.out and "rectify withdraw 原2 --round" in done.out
    items = by_title(engine)
    dropped, fresh = items["违规发放津补贴"], items["违规发放加班补贴"]
    assert dropped.progress == "已清退8.2万元" and dropped.owner == "周敏" and not dropped.listed
    assert dropped.ref == "原2" and dropped.former_no == 2
    assert fresh.owner == "赵六" and fresh.progress is None and fresh.no == 4 and fresh.id != dropped.id


def test_a_close_title_is_taken_when_the_rest_agrees_or_nothing_was_recorded(cli: Any, db_url: str,
                                                                            engine: Engine,
                                                                            tmp_path: Path) -> None:
    base = ["--db", db_url, "import", "--unit", UNIT]
    assert cli([*base, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    assert cli(["--db", db_url, "progress", "2", "--text", "已清退", "--by", "周敏"]).code == 0
    # the same people and category: a rewording, taken with its progress
    week2 = [WEEK1[0], ("纪律作风", "违规发放津贴补贴", "周敏", "2026-12-31"), *WEEK1[2:]]
    assert cli([*base, str(sheet(tmp_path / "w2", week2))]).code == 0
    assert by_title(engine)["违规发放津贴补贴"].progress == "已清退"
    # another owner, but nothing recorded on the item: taken as a rewording
    week3 = [WEEK1[0], week2[1], ("党的建设", "发展党员工作程序不规范", "钱七", "2027-01-31"), WEEK1[3]]
    assert cli([*base, str(sheet(tmp_path / "w3", week3))]).code == 0
    assert by_title(engine)["发展党员工作程序不规范"].owner == "钱七"
    # --match confirms a move that would carry a record onto other people
    week4 = [WEEK1[0], ("纪律作风", "违规发放津贴补贴问题", "孙八", "2026-12-31"), *week3[2:]]
    refused = cli([*base, str(sheet(tmp_path / "w4", week4))])
    assert refused.code != 0 and "孙八" in refused.err
    assert cli([*base, str(tmp_path / "w4" / "整改台账.csv"), "--match", "2=2"]).code == 0
    moved = by_title(engine)["违规发放津贴补贴问题"]
    assert moved.progress == "已清退" and moved.owner == "孙八"


def test_a_new_row_taking_an_off_sheet_number_never_reaches_it(cli: Any, db_url: str, engine: Engine,
                                                             tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    # week 2: row 3 dropped; week 3: a new problem is row 3 again
    week2 = [WEEK1[0], WEEK1[1], WEEK1[3]]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", week2))]).code == 0
    week3 = [*week2, ("纪律作风", "公车私用问题", "吴九", "2027-04-30")]
    week3 = [week3[0], week3[1], week3[3], week3[2]]  # the new one is row 3, the old 3rd moves to 4
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w3", week3))]).code == 0
    items = by_title(engine)
    assert items["公车私用问题"].ref == "3" and items["发展党员程序不规范"].ref == "原3"

    listed = cli([*base, "items", "--json"]).json()
    per_round = Counter((i["round_id"], i["no"]) for i in listed if i["no"] is not None)
    assert max(per_round.values()) == 1                                   # no two items share a number
    aside = next(i for i in listed if i["title"] == "发展党员程序不规范")
    assert aside["no"] is None and aside["former_no"] == 3 and aside["ref"] == "原3"
    assert next(i for i in listed if i["title"] == "公车私用问题")["ref"] == "3"

    assert "公车私用问题" in cli([*base, "show", "3"]).out                  # 3 is the sheet's row 3
    assert "发展党员程序不规范" in cli([*base, "show", "原3"]).out
    assert "发展党员程序不规范" in cli([*base, "show", "原问题3"]).out
    withdrawn = cli([*base, "withdraw", "原3", "--reason", "经巡察办同意", "--by", "刘立强"])
    assert withdrawn.code == 0 and "原3" in withdrawn.out
    items = by_title(engine)
    assert items["发展党员程序不规范"].status == ItemState.WITHDRAWN
    assert items["公车私用问题"].status == ItemState.OPEN                     # untouched
    planned = cli([*base, "check", "--date", "2026-12-01", "--json"]).json()
    assert {p["ref"] for p in planned} == {"1", "2", "3", "4"}

    # a plain number that matches nothing says what exists; 原 alone is not a reference
    missing = cli([*base, "show", "7"])
    assert missing.code != 0 and "现有问题：1–4" in missing.err and "原3" in missing.err
    for args, words in ((["withdraw", "原99", "--reason", "x", "--by", "a"], "没有原99"),
                        (["show", "原"], "不是问题编号"),
                        (["merge", "原3", "--into", "原3", "--by", "a"], "已撤销"),
                        (["merge", "4", "--into", "4", "--by", "a"], "另一个问题"),
                        (["show", "-3"], "选项")):
        before = snapshot(engine)
        refused = cli([*base, *args])
        assert refused.code != 0 and words in refused.err, (args, refused.err)
        assert "Traceback" not in refused.err and "Invalid" not in refused.err and "Usage" not in refused.err
        assert snapshot(engine) == before


def test_a_number_set_aside_twice_gets_its_own_reference(cli: Any, db_url: str, engine: Engine,
                                                        tmp_path: Path) -> None:
    base = ["--db", db_url, "import", "--unit", UNIT]
    assert cli([*base, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    # week 2 drops row 4; week 3 adds a new row 4; week 4 drops that one too
    assert cli([*base, str(sheet(tmp_path / "w2", WEEK1[:3]))]).code == 0
    new4 = ("纪律作风", "公车私用问题", "吴九", "2027-04-30")
    assert cli([*base, str(sheet(tmp_path / "w3", [*WEEK1[:3], new4]))]).code == 0
    assert cli([*base, str(sheet(tmp_path / "w4", WEEK1[:3]))]).code == 0
    items = by_title(engine)
    assert items["公务接待清单不完整"].ref == "原4" and items["公车私用问题"].ref == "原4-2"
    assert "公车私用问题" in cli(["--db", db_url, "show", "原4-2"]).out
    assert "公务接待清单不完整" in cli(["--db", db_url, "show", "原4"]).out


def test_withdrawn_merged_and_reinstated_items_read_as_json(cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", WEEK1[:2]))]).code == 0
    assert cli([*base, "withdraw", "原3", "--reason", "不再列入", "--by", "刘立强"]).code == 0
    assert cli([*base, "merge", "原4", "--into", "2", "--by", "刘立强"]).code == 0
    shown = {i["ref"]: i for i in cli([*base, "items", "--json"]).json()}
    assert shown["原3"]["status"] == "已撤销" and shown["原4"]["status"] == "已合并"
    assert cli([*base, "show", "原3", "--json"]).json()["status"] == "已撤销"
    trail = cli([*base, "show", "2", "--json"]).json()
    assert any("原4" in json.dumps(e["data"], ensure_ascii=False) for e in trail["events"] if e["kind"] == "merged_in")
    assert "原4“公务接待清单不完整”并入本问题" in cli([*base, "show", "2"]).out
    assert cli([*base, "reinstate", "原3", "--by", "刘立强"]).code == 0
    assert cli([*base, "show", "原3", "--json"]).json()["status"] == "未完成"
    text = cli([*base, "show", "原3"]).out
    assert "导入（整改台账.csv）" in text and "  import" not in text and "  rectify" not in text


def test_every_item_state_has_a_label() -> None:
    for state in ItemState:
        assert ItemState.label_of(state) != state.value and state.label


@pytest.mark.parametrize(("typed", "ref"), [("13", "13"), ("问题13", "13"), ("原13", "原13"), ("原问题13", "原13"),
                                            ("原13-2", "原13-2"), ("１３", "13"), (" 原 13 ", "原13")])
def test_references_parse_as_typed(typed: str, ref: str) -> None:
    assert str(refs.parse(typed)) == ref


@pytest.mark.parametrize("typed", ["", "原", "-13", "13-2", "原13-1", "abc", "问题", "1.5"])
def test_what_is_no_reference_is_refused(typed: str) -> None:
    with pytest.raises(Exception, match="不是问题编号"):
        refs.parse(typed)


def test_an_off_sheet_item_is_counted_and_marked_everywhere(cli: Any, db_url: str, engine: Engine,
                                                           tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w2", WEEK1[:3]))]).code == 0
    listed = cli([*base, "items"]).out
    assert "共 4 条" in listed and "原4" in listed and "（本次台账未列出）" in listed
    units = cli([*base, "units", "--json"]).json()
    assert [u["items"] for u in units] == [4]
    out = tmp_path / "台账.xlsx"
    assert cli([*base, "export", "-o", str(out), "--date", "2026-12-01"]).code == 0
    book = load_workbook(out)
    assert book["本次台账未列出"]["A2"].value == "原4"
    assert sum(1 for r in book["整改台账"].iter_rows(min_row=4, values_only=True) if r[0]) == 3
    report = tmp_path / "报告.txt"
    assert cli([*base, "report", "-o", str(report), "--date", "2026-12-01"]).code == 0
    text = report.read_text(encoding="utf-8")
    assert "4个问题（含本次台账未列出、仍在跟踪的1个）" in text and "公务接待清单不完整（原4" in text
    bulletin = tmp_path / "通报.docx"
    assert cli([*base, "bulletin", "-o", str(bulletin), "--date", "2026-12-01"]).code == 0
    ranking = Document(str(bulletin)).tables[0]
    row = next(r for r in ranking.rows if any(UNIT in c.text or "交通运输局" in c.text for c in r.cells))
    assert [c.text for c in row.cells][2] == "4"                 # 问题数
    # a withdrawn one is counted nowhere
    assert cli([*base, "withdraw", "原4", "--reason", "不再列入", "--by", "刘立强"]).code == 0
    assert [u["items"] for u in cli([*base, "units", "--json"]).json()] == [3]
    assert "共 3 条" in cli([*base, "items"]).out


def _county(cli: Any, db_url: str, tmp_path: Path) -> None:
    """Two units, each with items closed long enough ago to be drawn for look-back."""
    for unit, prefix in (("区交通运输局", "交通"), ("区审计局", "审计")):
        rows = "\n".join(f"{n},{prefix}问题{n}的整改,一是整改,胡志云,周敏,2026-03-31,已完成" for n in range(1, 9))
        path = tmp_path / unit / "台账.csv"
        path.parent.mkdir(parents=True)
        path.write_text("序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n" + rows + "\n", encoding="utf-8")
        assert cli(["--db", db_url, "import", "--unit", unit, str(path), "--date", "2026-04-01"]).code == 0


def test_lookback_plan_is_what_assign_selects(cli: Any, db_url: str, tmp_path: Path) -> None:
    _county(cli, db_url, tmp_path)
    base = ["--db", db_url, "lookback"]
    day = ["--date", "2026-12-01", "--seed", "s1"]
    planned = cli([*base, "plan", *day, "--json"]).json()
    assert {u["unit"] for u in planned["units"]} == {"区交通运输局", "区审计局"}
    assert cli([*base, "assign", *day]).code == 0
    tasks = cli([*base, "list", "--json"]).json()
    assert sorted((t["unit"], t["ref"]) for t in tasks) == \
        sorted((u["unit"], s["ref"]) for u in planned["units"] for s in u["selected"])
    again = cli([*base, "plan", *day, "--json"]).json()
    assert again["selected"] == planned["selected"] and all(u["assigned"] for u in again["units"])
    one = cli([*base, "plan", *day, "--unit", "审计局", "--json"]).json()
    assert [u["unit"] for u in one["units"]] == ["区审计局"]


def test_an_immediate_row_without_a_feedback_date_is_named_at_import(cli: Any, db_url: str,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "台账.csv"
    path.write_text("序号,问题,责任人,整改时限,完成情况\n1,公车私用问题,周敏,立行立改,未完成\n"
                    "2,发展党员程序不规范,赵磊,2027-01-31,未完成\n", encoding="utf-8")
    for dry in (["--dry-run"], []):
        done = cli(["--db", db_url, "import", "--unit", UNIT, str(path), *dry])
        assert done.code == 0 and "问题1没有整改时限" in done.out and "--feedback-date" in done.out
        assert "问题2" not in done.out.split("没有整改时限")[0].splitlines()[-1]
    as_json = cli(["--db", db_url, "import", "--unit", UNIT, str(path), "--dry-run", "--json"]).json()
    assert [x["ref"] for x in as_json["no_deadline"]] == ["1"]
    round_id = str(cli(["--db", db_url, "rounds", "--json"]).json()[0]["id"])
    assert f"rectify rounds edit {round_id} --feedback-date" in done.out
    rounds = cli(["--db", db_url, "rounds", "edit", round_id, "--feedback-date", "2026-11-02"])
    assert rounds.code == 0
    fixed = cli(["--db", db_url, "import", "--unit", UNIT, str(path), "--dry-run"])
    assert "没有整改时限" not in fixed.out


def test_rounds_show_the_first_responsible_from_contacts(cli: Any, db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "contacts.toml").write_text(
        f'[[person]]\nname = "陈学文"\nunit = "{UNIT}"\nroles = ["first_responsible"]\n', encoding="utf-8")
    assert cli(["--db", db_url, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    shown = cli(["--db", db_url, "--config", str(config), "rounds"]).out
    assert "第一责任人：陈学文（联系人）" in shown
    data = cli(["--db", db_url, "--config", str(config), "rounds", "--json"]).json()
    assert data[0]["first_responsible"] == "陈学文" and data[0]["first_responsible_from"] == "contacts"


def test_the_dry_run_names_changed_columns_in_words(cli: Any, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "台账.csv"
    path.write_text("序号,问题,责任人,整改时限,完成情况,备注\n1,违规发放津补贴,周敏,2026-12-31,未完成,已清退8.2万元\n",
                    encoding="utf-8")
    assert cli(["--db", db_url, "import", "--unit", UNIT, str(path)]).code == 0
    path.write_text(path.read_text(encoding="utf-8").replace("8.2", "10.4"), encoding="utf-8")
    dry = cli(["--db", db_url, "import", "--unit", UNIT, str(path), "--dry-run"])
    assert "备注：已清退8.2万元 → 已清退10.4万元" in dry.out and "{" not in dry.out


def test_tables_align_by_display_width() -> None:
    from rectify_core.cli.app import table, width

    lines = table(("序号", "状态", "问题"), [("1", "未完成", "甲"), ("原13", "阶段性完成", "乙")])
    assert len({width(line.rsplit(" ", 1)[0].rstrip()) for line in lines[1:]}) >= 1
    starts = [width(line[: line.index(last)]) for line, last in zip(lines, ("问题", "甲", "乙"), strict=True)]
    assert len(set(starts)) == 1


def test_clicks_own_errors_are_chinese(cli: Any, sqlite_url: str) -> None:
    for args in (["show"], ["show", "x"], ["withdraw", "3", "--nope"], ["shw"], ["close", "1", "--by"]):
        result = cli(["--db", sqlite_url, *args])
        assert result.code == 2 and "错误：" in result.err, result.err
        assert not any(w in result.err for w in ("Usage", "Error", "Invalid", "Missing", "No such", "Try "))


def test_web_link_resolves_the_unit_and_refuses_strangers(cli: Any, db_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECTIFY_WEB_SECRET", "web-test-secret-0123456789abcdef")
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "web.toml").write_text('[web]\nbase_url = "https://rectify.example.gov.cn"\n', encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    assert cli([*base, "import", "--unit", UNIT, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    other = sheet(tmp_path / "other", [("纪律作风", "审计整改不到位", "钱七", "2026-12-31")])
    assert cli([*base, "import", "--unit", "区审计局", str(other)]).code == 0
    assert cli([*base, "units", "edit", UNIT, "--short-name", "交通运输局"]).code == 0
    issued = cli([*base, "web", "link", "--person", "周敏", "--unit", "交通运输局"])
    assert issued.code == 0 and issued.out.startswith("https://rectify.example.gov.cn/p/")
    assert "未完成的问题 2 个" in issued.err
    token = issued.out.strip().rsplit("/", 1)[1]
    payload = json.loads(io.BytesIO(_b64(token.split(".")[1])).read())
    assert payload["u"] == UNIT                                   # the unit as rectify knows it
    for person, unit, words in (("周卫", "交通运输局", "周敏"), ("钱七", "交通运输局", "区审计局"),
                                ("周敏", "不存在的局", "已有单位")):
        refused = cli([*base, "web", "link", "--person", person, "--unit", unit])
        assert refused.code != 0 and words in refused.err and "https://" not in refused.out, refused.err
    assert cli([*base, "web", "link", "--person", "胡志云", "--unit", UNIT]).code == 0


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_events_name_the_reference_the_item_had(engine: Engine, cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url, "import", "--unit", UNIT]
    assert cli([*base, str(sheet(tmp_path / "w1", WEEK1))]).code == 0
    assert cli([*base, str(sheet(tmp_path / "w2", WEEK1[:3])), "--date", "2026-11-09"]).code == 0
    with db.transaction(engine) as s:
        unlisted = s.scalars(select(Event).where(Event.kind == "unlisted")).one()
        assert unlisted.data["ref"] == "原4"
    assert "本次台账未列出（此后称 原4）" in cli(["--db", db_url, "show", "原4"]).out


def test_the_web_start_up_line_tells_how_admin_is_reached(cli: Any, sqlite_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from rectify_core.cli.app import App
    from rectify_core.cli.web import admin_status
    from rectify_core.config.web import ADMIN_ENV

    monkeypatch.delenv(ADMIN_ENV, raising=False)
    app = App(sqlite_url)
    assert "暂不可用" in admin_status(app)
    monkeypatch.setenv(ADMIN_ENV, "bootstrap-token-0123456789")
    assert "暂可用" in admin_status(app) and "添加账号后失效" in admin_status(app)
    monkeypatch.setattr("sys.stdin", io.StringIO("county-office-2026\n"))
    assert cli(["--db", sqlite_url, "accounts", "add", "xcb", "--all", "--password-stdin"]).code == 0
    assert "1 个账号可登录" in admin_status(app) and "不可用" not in admin_status(app)
    app.close()
