"""The living ledger over weeks: identities, safe re-import, what people record between
imports, and escalation that follows notification. Real database (SQLite and
PostgreSQL), real CLI, real SMTP."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update

from rectify_core.delivery.mailsink import MailSink
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, ImportBatch, Item, Notice, Round
from tests.fixtures.channels import plain

TITLE = "区交通运输局党组巡察反馈问题整改台账"
HEADER = "序号,问题类别,问题描述,整改措施,责任领导,责任部门,责任人,整改时限,完成情况"


def ledger(report_day: str, statuses: dict[int, str], unit: str = "区交通运输局党组") -> str:
    rows = [
        (1, "财务管理", "无依据发放津补贴", "清退违规发放款项", "胡志云", "财务股", "周敏", "2026年12月31日"),
        (2, "资产管理", "桥南交管站移交不实", "组建专班推进腾退", "胡志云", "办公室", "李强", "2026年12月31日"),
        (3, "项目建设", "要素制约破解不到位", "配合协调小组加强调度", "刘立强", "计划统计股", "王芳", "2026年12月15日"),
        (4, "党建工作", "三会一课质量不高", "制定学习计划", "刘立强", "机关党委", "赵磊", "2027年1月31日"),
    ]
    lines = [f"{TITLE},,,,,,,,", f"填报单位：{unit}（盖章）,,,,填报日期：{report_day},,,,", HEADER]
    lines += [",".join(map(str, r)) + f",{statuses.get(r[0], '正在整改')}" for r in rows]
    return "\n".join(lines) + "\n"


def imported(cli: Any, base: list[str], tmp_path: Path) -> Path:
    """Week 1's ledger, imported: the start of most stories here."""
    path = tmp_path / "w1.csv"
    path.write_text(ledger("2026年11月20日", {}), encoding="utf-8")
    assert cli([*base, "import", str(path)]).code == 0
    return path


def count(engine: Engine, model: Any) -> int:
    with db.transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def snapshot(engine: Engine) -> tuple[int, int, int, int, int]:
    return (count(engine, Round), count(engine, Item), count(engine, Event), count(engine, Notice),
            count(engine, ImportBatch))


def test_weekly_cycle(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    week1 = tmp_path / "台账-第1周.csv"
    week1.write_text(ledger("2026年11月20日", {}), encoding="utf-8")
    first = cli([*base, "import", str(week1)])
    assert first.code == 0, first.err
    rounds = cli([*base, "rounds", "--json"]).json()
    # the title and 填报 rows are parsed, not glued into the round's name
    assert [(r["unit"], r["name"], r["report_date"]) for r in rounds] == [
        ("区交通运输局党组", TITLE, "2026-11-20")]

    evidence = tmp_path / "退款收据.pdf"
    evidence.write_bytes(b"%PDF-1.4 receipt")
    assert cli([*base, "close", "1", "--evidence", str(evidence), "--by", "周敏", "--verified-by", "王敏",
                "--date", "2026-11-23"]).code == 0
    assert cli([*base, "progress", "2", "--text", "已发布腾退公告", "--by", "李强", "--status", "阶段性完成",
                "--date", "2026-11-24"]).code == 0

    # next week's ledger: a new 填报日期; item 3 caught up, item 1 still behind the tool
    week2 = tmp_path / "台账-第2周.csv"
    week2.write_text(ledger("2026年11月27日", {3: "阶段性完成"}), encoding="utf-8")
    before = snapshot(engine)
    dry = cli([*base, "import", str(week2), "--dry-run"])
    assert dry.code == 0, dry.err
    assert "试导入" in dry.out and "问题3 完成情况 未完成 → 阶段性完成" in dry.out
    assert "问题1：文件中的完成情况为“正在整改”（即未完成），但该问题已在 rectify 中销号" in dry.out
    assert "问题2" in dry.out and "报送进展" in dry.out          # lowering progress is a disagreement too
    assert snapshot(engine) == before                               # a dry run writes nothing

    real = cli([*base, "import", str(week2), "--json"]).json()
    assert [u["no"] for u in real["updated"]] == [3] and real["created"] == []
    assert sorted(d["field"] + str(i) for i, d in
                  ((int(d["message"][2]), d) for d in real["disagreements"])) == ["status1", "status2"]
    items = {i["no"]: i for i in cli([*base, "items", "--json"]).json()}
    assert items[1]["status"] == "已完成" and items[2]["status"] == "阶段性完成"   # kept
    assert items[3]["status"] == "阶段性完成"                                      # raised by the file

    # the first week's file again under another name: no new round, nothing changes
    renamed = tmp_path / "copy-of-ledger.csv"
    renamed.write_bytes(week1.read_bytes())
    again = cli([*base, "import", str(renamed), "--json"])
    assert again.code == 0 and again.json()["round_id"] == rounds[0]["id"] and again.json()["created"] == []
    assert len(cli([*base, "rounds", "--json"]).json()) == 1

    shown = cli([*base, "show", "1", "--json"]).json()
    closure = shown["closures"][0]
    assert closure["verified_by"] == "王敏" and closure["evidence"][0]["name"] == "退款收据.pdf"
    assert closure["evidence"][0]["size"] == evidence.stat().st_size
    assert shown["disagreements"] and shown["disagreements"][0]["file"] == "未完成"
    progress = cli([*base, "show", "2", "--json"]).json()["progress_reports"]
    assert progress == [{"date": "2026-11-24", "text": "已发布腾退公告", "by": "李强", "from": "open",
                         "to": "ongoing", "evidence": []}]
    text = cli([*base, "show", "2"]).out
    assert "报送进展（2026-11-24）：已发布腾退公告" in text and "最新进展" in text


def test_reimport_never_undoes_a_rebound(cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url]
    path = tmp_path / "ledger.csv"
    path.write_text(ledger("2026年3月2日", {1: "已完成"}), encoding="utf-8")
    assert cli([*base, "import", str(path)]).code == 0
    assert cli([*base, "close", "1", "--evidence", "收据", "--by", "周敏", "--verified-by", "王敏",
                "--date", "2026-03-03"]).code == 0
    assert cli([*base, "lookback", "assign", "--date", "2026-06-10"]).code == 0
    assert cli([*base, "lookback", "record", "1", "--outcome", "反弹", "--note", "又发了", "--by", "王敏",
                "--date", "2026-06-20"]).code == 0
    out = cli([*base, "import", str(path)]).out
    assert "问题1：文件中的完成情况为“已完成" in out and "回头看反弹后重新打开" in out
    item = cli([*base, "show", "1", "--json"]).json()
    assert item["status"] == "未完成" and item["rebound_count"] == 1
    # closing it again is possible (it is not stuck)
    assert cli([*base, "close", "1", "--evidence", "再次清退", "--by", "周敏", "--verified-by", "王敏",
                "--date", "2026-07-01"]).code == 0


def test_a_new_round_that_looks_like_an_existing_one_is_refused(cli: Any, db_url: str, engine: Engine,
                                                                 tmp_path: Path) -> None:
    base = ["--db", db_url]
    path = tmp_path / "a.csv"
    path.write_text(ledger("2026年11月20日", {}), encoding="utf-8")
    assert cli([*base, "import", str(path)]).code == 0
    # same items under another title: most titles equal an existing round's
    other = tmp_path / "b.csv"
    other.write_text(ledger("2026年11月27日", {}).replace(TITLE, "整改落实情况统计表"), encoding="utf-8")
    before = snapshot(engine)
    refused = cli([*base, "import", str(other)])
    assert refused.code == 1 and "看起来与已有轮次 1" in refused.err and "--new-round" in refused.err
    assert "Traceback" not in refused.err and snapshot(engine) == before
    assert cli([*base, "import", str(other), "--round", "1"]).code == 0        # update it explicitly
    forced = cli([*base, "import", str(other), "--new-round", "--json"]).json()
    assert forced["round_created"] and forced["round_id"] != 1


def test_imports_list_and_undo(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    week1, week2 = tmp_path / "w1.csv", tmp_path / "w2.csv"
    week1.write_text(ledger("2026年11月20日", {}), encoding="utf-8")
    week2.write_text(ledger("2026年11月27日", {3: "阶段性完成", 4: "已完成"}), encoding="utf-8")
    assert cli([*base, "import", str(week1)]).code == 0
    assert cli([*base, "import", str(week2)]).code == 0
    batches = cli([*base, "imports", "--json"]).json()
    assert [(b["id"], b["created"], b["updated"]) for b in batches] == [(1, 4, 0), (2, 0, 2)]
    # the older batch: its items changed since (batch 2) -> refused, naming them
    refused = cli([*base, "imports", "undo", "1"])
    assert refused.code == 1 and "问题3" in refused.err and "问题4" in refused.err
    assert cli([*base, "imports", "undo", "2"]).code == 0
    items = {i["no"]: i["status"] for i in cli([*base, "items", "--json"]).json()}
    assert items == {1: "未完成", 2: "未完成", 3: "未完成", 4: "未完成"}
    assert cli([*base, "imports", "undo", "2"]).code == 1                      # not twice
    assert cli([*base, "imports", "undo", "1"]).code == 0                      # now nothing changed since
    assert count(engine, Item) == 0 and count(engine, Round) == 0
    assert [b["undone_at"] is not None for b in cli([*base, "imports", "--json"]).json()] == [True, True]


def test_undo_refused_after_a_person_recorded_something(cli: Any, db_url: str, engine: Engine,
                                                        tmp_path: Path) -> None:
    base = ["--db", db_url]
    imported(cli, base, tmp_path)
    assert cli([*base, "progress", "4", "--text", "已制定计划", "--by", "赵磊", "--date", "2026-11-21"]).code == 0
    before = snapshot(engine)
    refused = cli([*base, "imports", "undo", "1"])
    assert refused.code == 1 and "问题4（报送进展）" in refused.err and snapshot(engine) == before


def test_bad_inputs_change_nothing(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    imported(cli, base, tmp_path)
    assert cli([*base, "close", "1", "--evidence", "收据", "--by", "周敏", "--verified-by", "王敏"]).code == 0
    before = snapshot(engine)
    cases = {
        "没有问题99": ["progress", "99", "--text", "x", "--by", "周敏"],
        "不能重复销号": ["close", "1", "--evidence", "收据", "--by", "周敏", "--verified-by", "王敏"],
        "不能再报送进展": ["progress", "1", "--text", "又有进展", "--by", "周敏"],
        "请写明接任者姓名": ["reassign", "--from", "王芳", "--to", " "],
        "没有由 张三 担任责任人的未完成问题": ["reassign", "--from", "张三", "--to", "李四"],
        "没有编号为 42 的导入批次": ["imports", "undo", "42"],
        "没有编号为 7 的轮次": ["rounds", "edit", "7", "--name", "x"],
        "发件箱中没有编号为 5 的通知": ["outbox", "resend", "5"],
        "只能把状态改为": ["progress", "2", "--text", "x", "--by", "李强", "--status", "已完成"],
    }
    for message, args in cases.items():
        result = cli([*base, *args])
        assert result.code != 0, args
        assert message in result.err or message in result.out, (args, result.err)
        assert "Traceback" not in result.err
        assert snapshot(engine) == before, args


def test_reassign_moves_open_items_and_pending_notices(cli: Any, db_url: str, engine: Engine,
                                                       tmp_path: Path) -> None:
    base = ["--db", db_url]
    path = imported(cli, base, tmp_path)
    # plan (no contacts: nothing can be delivered) so that 王芳 has pending notices
    assert cli([*base, "notify", "--date", "2026-11-22"]).code in (0, 4)
    with db.transaction(engine) as s:
        s.execute(update(Notice).values(state="pending"))
    assert cli([*base, "outbox", "--person", "王芳", "--json"]).json()
    out = cli([*base, "reassign", "--from", "王芳", "--to", "孙丽", "--date", "2026-11-23"])
    assert out.code == 0 and "问题3" in out.out
    assert cli([*base, "outbox", "--person", "王芳", "--json"]).json() == []
    moved = cli([*base, "outbox", "--person", "孙丽", "--json"]).json()
    assert moved and all(n["item_no"] == 3 for n in moved)
    shown = cli([*base, "show", "3", "--json"]).json()
    assert shown["owner"] == "孙丽" and shown["reassignments"][0]["from"] == "王芳"
    # the next week's ledger still names 王芳: the handover is kept, and said so
    again = cli([*base, "import", str(path)])
    assert "问题3：文件中的责任人为“王芳”" in again.out
    assert cli([*base, "show", "3", "--json"]).json()["owner"] == "孙丽"


def test_successor_digest_says_what_was_handed_over(cli: Any, db_url: str, tmp_path: Path,
                                                     mail_sink: MailSink) -> None:
    base = ["--db", db_url]
    imported(cli, base, tmp_path)
    config = _contacts(tmp_path / "cfg", mail_sink.port, [("孙丽", "区交通运输局党组", "sunli")], {})
    # planned on Sunday (outside the send window): 王芳's notice waits in the outbox
    assert cli([*base, "--config", str(config), "notify", "--date", "2026-11-22"]).code == 0
    assert cli([*base, "reassign", "--from", "王芳", "--to", "孙丽", "--date", "2026-11-23"]).code == 0
    assert cli([*base, "--config", str(config), "notify", "--date", "2026-11-23"]).code in (0, 4)
    body = plain(next(m for m in mail_sink.messages if "sunli@" in str(m["to"])))
    assert "【工作移交】本事项原由王芳负责，2026-11-23起移交给您。" in body and "要素制约破解不到位" in body


def _contacts(directory: Path, port: int, people: list[tuple[str, str, str]], roles: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, unit, mailbox in people:
        lines += ["[[person]]", f'name = "{name}"', f'unit = "{unit}"',
                  f'notify = ["mailto://127.0.0.1:{port}?from=rectify@localhost&to={mailbox}@example.gov.cn"]']
        if name in roles:
            lines.append(f'roles = ["{roles[name]}"]')
        lines.append("")
    (directory / "contacts.toml").write_text("\n".join(lines), encoding="utf-8")
    return directory


def test_homonyms_in_two_units_are_two_people(cli: Any, db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    base = ["--db", db_url]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(ledger("2026年11月20日", {}, unit="区交通运输局党组"), encoding="utf-8")
    b.write_text(ledger("2026年11月20日", {}, unit="区财政局党组").replace("要素制约破解不到位", "预算执行不严格")
                 .replace("无依据发放津补贴", "专项资金拨付滞后").replace("桥南交管站移交不实", "国库集中支付不规范")
                 .replace("三会一课质量不高", "干部轮岗交流不够"), encoding="utf-8")
    assert cli([*base, "import", str(a)]).code == 0
    assert cli([*base, "import", str(b)]).code == 0
    config = _contacts(tmp_path / "cfg", mail_sink.port, [("王芳", "区交通运输局党组", "wangfang.jt"),
                                                          ("王芳", "区财政局党组", "wangfang.cz")], {})
    sent = cli([*base, "--config", str(config), "notify", "--date", "2026-11-25"])
    assert sent.code == 0, sent.err
    bodies = {str(m["to"]): plain(m) for m in mail_sink.messages}
    assert set(bodies) == {"wangfang.jt@example.gov.cn", "wangfang.cz@example.gov.cn"}
    assert "要素制约破解不到位" in bodies["wangfang.jt@example.gov.cn"]
    assert "预算执行不严格" not in bodies["wangfang.jt@example.gov.cn"]
    assert "预算执行不严格" in bodies["wangfang.cz@example.gov.cn"]
    assert "要素制约破解不到位" not in bodies["wangfang.cz@example.gov.cn"]


def test_first_chase_of_an_overdue_backlog_reaches_owner_and_leader_only(
        cli: Any, db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    base = ["--db", db_url]
    path = tmp_path / "backlog.csv"
    # due 2026-10-09 (a Friday); on 2026-12-01 it is ~36 working days overdue
    path.write_text(ledger("2026年11月20日", {}).replace("2026年12月15日", "2026年10月9日"), encoding="utf-8")
    assert cli([*base, "import", str(path)]).code == 0
    people = [(n, "区交通运输局党组", m) for n, m in (("王芳", "wf"), ("刘立强", "llq"), ("陈学文", "cxw"),
                                                 ("巡察办李明", "lm"))]
    config = _contacts(tmp_path / "cfg", mail_sink.port, people,
                       {"陈学文": "first_responsible", "巡察办李明": "inspection_office"})
    checked = cli([*base, "--config", str(config), "check", "--date", "2026-12-01", "--json"]).json()
    row = next(r for r in checked if r["no"] == 3)
    assert row["workdays_left"] <= -35
    assert {n["name"] for n in row["notify"]} == {"王芳", "刘立强"}
    assert cli([*base, "--config", str(config), "notify", "--date", "2026-12-01"]).code == 0
    told = {str(m["to"]).split("@")[0] for m in mail_sink.messages}
    assert "cxw" not in told and "lm" not in told and {"wf", "llq"} <= told
    # five working days after owner and leader were told: the first responsible
    later = cli([*base, "--config", str(config), "check", "--date", "2026-12-08", "--json"]).json()
    assert "陈学文" in {n["name"] for n in next(r for r in later if r["no"] == 3)["notify"]}


def test_rounds_edit_and_feedback_date_on_import(cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url]
    path = tmp_path / "w1.csv"
    path.write_text(ledger("2026年11月20日", {}).replace("2026年12月31日", ""), encoding="utf-8")
    assert cli([*base, "import", str(path), "--feedback-date", "2026-10-09"]).code == 0
    assert cli([*base, "rounds", "--json"]).json()[0]["feedback_date"] == "2026-10-09"
    edited = cli([*base, "rounds", "edit", "1", "--first-responsible", "陈学文", "--name", "第三轮巡察"])
    assert edited.code == 0
    shown = cli([*base, "rounds", "--json"]).json()[0]
    assert (shown["first_responsible"], shown["name"]) == ("陈学文", "第三轮巡察")
    # an item without a date now has one by rule: feedback + 2 months
    rows = cli([*base, "check", "--date", "2026-11-25", "--json"]).json()
    assert next(r for r in rows if r["no"] == 1)["due_source"] == "rule"
    # the renamed round still takes next week's ledger: its identity is not its name
    week2 = tmp_path / "w2.csv"
    week2.write_text(ledger("2026年11月27日", {}).replace("2026年12月31日", ""), encoding="utf-8")
    assert cli([*base, "import", str(week2), "--json"]).json()["round_id"] == 1


def test_outbox_resend_requeues_given_up_notices(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    imported(cli, base, tmp_path)
    assert cli([*base, "notify", "--date", "2026-11-25"]).code == 4        # nobody has a channel: given up
    dead = cli([*base, "outbox", "--state", "dead", "--json"]).json()
    assert dead
    pending = cli([*base, "outbox", "--state", "pending", "--json"]).json()
    refused = cli([*base, "outbox", "resend", str(pending[0]["id"])]) if pending else None
    assert refused is None or refused.code == 1
    ids = [str(n["id"]) for n in dead]
    assert cli([*base, "outbox", "resend", *ids]).code == 0
    assert {n["state"] for n in cli([*base, "outbox", "--json"]).json() if str(n["id"]) in ids} == {"pending"}
    assert json.dumps(cli([*base, "show", "1", "--json"]).json()["notices"], ensure_ascii=False)


def test_lookback_items_are_dated_by_the_report_and_swept_per_unit(cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(ledger("2026年3月2日", {1: "已完成", 2: "已完成"}), encoding="utf-8")
    other = ledger("2026年6月20日", {1: "已完成"}, unit="区财政局党组")
    for old, new in (("津补贴", "专项资金"), ("桥南交管站", "国库"), ("要素制约", "预算"), ("三会一课", "轮岗")):
        other = other.replace(old, new)
    b.write_text(other, encoding="utf-8")
    assert cli([*base, "import", str(a)]).code == 0
    assert cli([*base, "import", str(b)]).code == 0
    plan = cli([*base, "lookback", "plan", "--date", "2026-07-01", "--json"]).json()
    closed = {(s["round_id"], s["no"]): s["closed_on"] for s in plan["selected"]}
    assert closed.get((1, 1)) == "2026-03-02"                    # the report's date, not the import day
    assert all(rid == 1 for rid, _ in closed)                    # closed 11 days ago: not drawn yet
    assigned = cli([*base, "lookback", "assign", "--date", "2026-07-01"])
    assert assigned.code == 0 and "2 个单位" in assigned.out
    # the same day again: each unit keeps its sweep, nothing new
    assert "本次新分派 0 项" in cli([*base, "lookback", "assign", "--date", "2026-07-01"]).out


def test_light_has_one_definition(cli: Any, db_url: str, tmp_path: Path, mail_sink: MailSink) -> None:
    """An extended 长期坚持 item is green in the plan and in the digest alike."""
    base = ["--db", db_url]
    path = tmp_path / "w1.csv"
    path.write_text(ledger("2026年11月20日", {}).replace("2027年1月31日", "长期坚持"), encoding="utf-8")
    assert cli([*base, "import", str(path)]).code == 0
    assert cli([*base, "extend", "4", "--to", "2027-06-30", "--reason", "跨年", "--approved-by", "胡志云",
                "--date", "2026-11-20"]).code == 0
    config = _contacts(tmp_path / "cfg", mail_sink.port, [("赵磊", "区交通运输局党组", "zl")], {})
    planned = cli([*base, "--config", str(config), "check", "--date", "2027-06-21", "--json"]).json()
    row = next(r for r in planned if r["no"] == 4)
    assert row["light"] == "yellow" and row["notify"]
    assert cli([*base, "--config", str(config), "notify", "--date", "2027-06-21"]).code in (0, 4)
    body = plain(next(m for m in mail_sink.messages if "zl@" in str(m["to"])))
    assert "【黄灯】问题4" in body and "蓝灯" not in body


def test_dates_in_events_are_iso(engine: Engine, cli: Any, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "w1.csv"
    path.write_text(ledger("2026年11月20日", {}), encoding="utf-8")
    assert cli(["--db", db_url, "import", str(path)]).code == 0
    with db.transaction(engine) as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert batch.report_date == dt.date(2026, 11, 20)
        assert {e.batch_id for e in s.scalars(select(Event))} == {batch.id}
