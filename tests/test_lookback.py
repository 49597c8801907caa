"""Closure (销号) and look-back (回头看) through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update

from rectify_core.ledger import db, evidence
from rectify_core.ledger.models import Closure, Event, Item

LEDGER = "序号,问题,责任领导,责任人,整改时限,完成情况\n1,政府采购制度执行不到位,胡志云,周敏,2026年11月30日,{status}\n"


def _ledger(tmp_path: Path, status: str) -> Path:
    path = tmp_path / "台账.csv"  # the same ledger file, updated
    path.write_text(LEDGER.format(status=status), encoding="utf-8")
    return path


def _kinds(engine: Engine) -> list[str]:
    with db.transaction(engine) as s:
        return list(s.scalars(select(Event.kind).order_by(Event.id)))


def _item(engine: Engine) -> Item:
    with db.transaction(engine) as s:
        return s.scalars(select(Item)).one()


def _evidence_counts(engine: Engine, closure_id: int | None) -> tuple[int, int]:
    with engine.connect() as conn:
        name = conn.dialect.name
        found = conn.execute(select(evidence.counted_sql(name), evidence.counted_sql(name, "file"))
                             .select_from(Closure).where(Closure.id == closure_id)).one()
    return found[0], found[1]


def test_life_of_an_item(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    # open -> ongoing -> done, as successive ledgers report it
    for status in ("正在整改", "阶段性完成", "已完成"):
        assert cli([*base, "import", str(_ledger(tmp_path, status))]).code == 0
    assert _kinds(engine) == ["imported", "status_changed", "status_changed"]
    # done -> closed (销号) with evidence and a second person
    evidence = tmp_path / "收据.pdf"
    evidence.write_bytes(b"%PDF-1.4 receipt")
    closed = cli([*base, "close", "1", "--evidence", str(evidence), "--evidence", "追回款项已入账",
                  "--by", "周敏", "--verified-by", "陈学文", "--date", "2026-11-20"])
    assert closed.code == 0, closed.err
    first = _item(engine).closure_id
    with db.transaction(engine) as s:
        closure = s.get(Closure, first)
        assert closure is not None and closure.evidence[0]["kind"] == "file"
        assert len(closure.evidence[0]["sha256"]) == 64 and closure.evidence[1]["text"] == "追回款项已入账"
    assert _evidence_counts(engine, first) == (2, 1)  # as the views and the scores count it: entries, files
    with engine.begin() as conn:  # what is not a list counts none (and stops nothing)
        conn.execute(update(Closure).where(Closure.id == first).values(evidence={"kind": "file"}))
    assert _evidence_counts(engine, first) == (0, 0)
    with engine.begin() as conn:
        conn.execute(update(Closure).where(Closure.id == first).values(evidence=closure.evidence))
    assert _evidence_counts(engine, first) == (2, 1)
    assert _kinds(engine)[-1] == "closed"
    # three months on: the scheduled look-back is assigned
    assert "新分派 1 项" in cli([*base, "lookback", "assign", "--date", "2027-02-22"]).out
    assert _kinds(engine)[-1] == "lookback_assigned"
    tasks = cli([*base, "lookback", "list", "--json", "--date", "2027-02-22"]).json()
    assert [(t["no"], t["state"]) for t in tasks] == [(1, "due")]
    assert tasks[0]["reasons"][0]["code"] == "after_3m"
    # rebound: reopened, linked to the closure it undoes, escalation one level up
    rebound = cli([*base, "lookback", "record", "1", "--outcome", "反弹", "--note", "又发现违规发放",
                   "--by", "巡察办王敏", "--date", "2027-03-01"])
    assert rebound.code == 0 and "第1次反弹" in rebound.out
    item = _item(engine)
    assert (item.status, item.rebound_count, item.reopened_from, item.closure_id) == ("open", 1, first, None)
    assert item.deadline is not None and item.deadline.isoformat() == "2027-04-30"   # 2 months, a working day
    assert _kinds(engine)[-1] == "reopened"
    told = tmp_path / "报告.txt"
    assert cli([*base, "report", "--date", "2027-03-02", "-o", str(told)]).code == 0
    assert ("该问题曾于2026年11月20日销号，2027年3月1日经“回头看”发现反弹回潮，已重新整改（反弹1次）"
            in told.read_text(encoding="utf-8"))                                   # the rebound is told
    plan = cli([*base, "check", "--date", "2027-04-01", "--json"]).json()
    assert {n["role"] for n in plan[0]["notify"]} == {"owner", "leader"}              # not only the owner
    # closed again, looked back again: consolidated
    assert cli([*base, "close", "1", "--evidence", "已全部追回", "--by", "周敏", "--verified-by", "陈学文",
                "--date", "2027-04-20"]).code == 0
    assert "新分派 1 项" in cli([*base, "lookback", "assign", "--date", "2027-07-20"]).out
    ok = cli([*base, "lookback", "record", "1", "--outcome", "巩固", "--note", "未再发生", "--by", "巡察办王敏",
              "--date", "2027-07-25"])
    assert ok.code == 0
    assert _kinds(engine) == ["imported", "status_changed", "status_changed", "closed", "lookback_assigned",
                              "reopened", "closed", "lookback_assigned", "lookback_consolidated"]
    stats = cli([*base, "lookback", "stats", "--json"]).json()
    assert stats["overall"] == {"checked": 2, "consolidated": 1, "rebounded": 1, "rebound_rate": 0.5}
    shown = cli([*base, "show", "1"]).out
    assert "反弹回潮，重新打开" in shown and "回头看：巩固" in shown


def _counts(engine: Engine) -> tuple[int, int]:
    with db.transaction(engine) as s:
        return (s.scalar(select(func.count()).select_from(Event)) or 0,
                s.scalar(select(func.count()).select_from(Closure)) or 0)


def test_bad_closure_and_lookback_input(cli: Any, db_url: str, engine: Engine, tmp_path: Path) -> None:
    base = ["--db", db_url]
    cli([*base, "import", str(_ledger(tmp_path, "正在整改"))])
    before = _counts(engine)
    cases = [
        (["close", "1", "--by", "周敏", "--verified-by", "陈学文"], 1, "--evidence-text"),
        (["close", "1", "--evidence", " ", "--by", "周敏", "--verified-by", "陈学文"], 1, "佐证材料"),
        (["close", "1", "--evidence", "x", "--by", "李四", "--verified-by", "周敏"], 1, "第二人"),
        (["close", "1", "--evidence", "x", "--by", "李四", "--verified-by", "李四"], 1, "第二人"),
        (["lookback", "record", "1", "--outcome", "巩固", "--note", "n", "--by", "王敏"], 1, "没有待完成的回头看任务"),
        (["lookback", "record", "1", "--outcome", "还行", "--note", "n", "--by", "王敏"], 1, "未知的回头看结论“还行”"),
    ]
    for args, code, message in cases:
        result = cli([*base, *args])
        assert result.code == code and message in result.err, (args, result.err)
        assert "Traceback" not in result.err
    assert _counts(engine) == before


def test_sample_lookback_plan_is_reproducible(cli: Any, db_url: str, sample: Path) -> None:
    base = ["--db", db_url]
    cli([*base, "import", str(sample)])
    plan = cli([*base, "lookback", "plan", "--date", "2025-10-01", "--json"]).json()
    again = cli([*base, "lookback", "plan", "--date", "2025-10-01", "--json"]).json()
    assert plan == again and plan["seed"] == "rectify-lookback-2025-10-01"
    items = cli([*base, "items", "--json"]).json()
    selected = {s["no"]: s for s in plan["selected"]}
    # every done item of aspect (一) (上轮整改不彻底、反弹回潮) is high-risk, with that reason
    aspect_one = {i["no"] for i in items if i["aspect_no"] == 1 and i["status"] == "已完成"}
    assert aspect_one <= {n for n, s in selected.items() if s["high_risk"]}
    assert all("aspect_rebound" in {r["code"] for r in selected[n]["reasons"]} for n in aspect_one)
    assert "transfer" in {r["code"] for r in selected[14]["reasons"]}       # 已移交相关村委负责修复
    assert "paper_only" in {r["code"] for r in selected[27]["reasons"]}     # only a rule was drafted
    done = {i["no"] for i in items if i["status"] == "已完成"}
    assert set(selected) <= done                                            # ongoing 3, 7, 29 never
    low = [s for s in plan["selected"] if not s["high_risk"]]
    rest = len(done) - (len(selected) - len(low))
    assert len(low) == -(-rest // 5)                                        # ceil(20% of the rest)
    assert all(s["reasons"][0]["code"] == "random" for s in low)
    other = cli([*base, "lookback", "plan", "--date", "2025-10-01", "--seed", "另一个种子", "--json"]).json()
    assert {s["no"] for s in other["selected"] if s["high_risk"]} == {
        s["no"] for s in plan["selected"] if s["high_risk"]}
