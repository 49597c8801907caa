"""`rectify check` and `rectify extend` through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rectify_flows.cli import DEMO_LEDGER

ROOT = Path(__file__).resolve().parent.parent


def test_sample_check_contract(cli: Any, db_url: str, sample: Path) -> None:
    cli(["--db", db_url, "import", str(sample)])
    rows = cli(["--db", db_url, "check", "--date", "2025-07-07", "--json"]).json()
    assert [r["no"] for r in rows] == [3, 7, 29]          # done items never appear
    for r in rows:
        assert set(r) >= {"no", "round", "due", "due_source", "workdays_left", "light",
                          "estimated", "step", "notify"}
        # no date in the report: feedback 2025-01-07 + 2 months = 2025-03-07 (a Friday);
        # hand count of working days in (03-07, 07-07]: 16 + 22 + 19 + 20 + 5 = 82
        assert (r["due"], r["due_source"], r["workdays_left"]) == ("2025-03-07", "rule", -82)
        assert (r["light"], r["estimated"]) == ("red", False)
        # the report names 陈学文 as 第一责任人; no owner or leader: the chain climbs to him
        assert [(n["name"], n["role"]) for n in r["notify"]] == [("陈学文", "first_responsible")]
        assert r["unresolved"] == ["inspection_office"]


def test_demo_ledger_on_a_day(cli: Any, db_url: str) -> None:
    cli(["--db", db_url, "import", str(DEMO_LEDGER)])
    rows = {r["no"]: r for r in cli(["--db", db_url, "check", "--date", "2026-11-25", "--json"]).json()}
    assert sorted(rows) == [2, 3, 4, 5, 7, 8]
    # due Friday 11-20, today Wednesday 11-25: 11-23, 24, 25 are past it
    assert (rows[5]["workdays_left"], rows[5]["light"], rows[5]["step"]) == (-3, "red", "到期提醒")
    assert {n["name"] for n in rows[5]["notify"]} == {"周敏", "胡志云"}
    # due Monday 11-30: 11-26, 27, 30 left
    assert (rows[4]["workdays_left"], rows[4]["light"], rows[4]["step"]) == (3, "yellow", "临期提醒")
    assert {n["name"] for n in rows[4]["notify"]} == {"赵磊", "刘立强"}
    assert (rows[3]["light"], rows[3]["step"]) == ("green", "督办通知")
    assert [n["name"] for n in rows[3]["notify"]] == ["王芳"]
    assert (rows[2]["light"], rows[2]["step"], rows[2]["notify"]) == ("green", None, [])
    assert rows[7]["estimated"] is True and rows[7]["due"] == "2027-03-31"
    assert (rows[8]["light"], rows[8]["due"]) == ("blue", "2026-12-31")
    text = cli(["--db", db_url, "check", "--date", "2026-11-25"])
    assert "红灯  问题5" in text.out and "今日提醒 周敏（责任人）" in text.out
    assert "2027 年" in text.err                 # estimated-year warning, once
    assert text.err.count("注意") == 1


def test_extend_records_counts_and_caps(cli: Any, db_url: str) -> None:
    cli(["--db", db_url, "import", str(DEMO_LEDGER)])
    args = ["--db", db_url, "extend", "5", "--reason", "需招标", "--approved-by", "陈学文",
            "--date", "2026-11-25"]
    first = cli([*args, "--to", "2026-12-18"])
    assert first.code == 0 and "第1次延期" in first.out
    row = next(r for r in cli(["--db", db_url, "check", "--date", "2026-11-25", "--json"]).json()
               if r["no"] == 5)
    # 17 working days left, but it was overdue when extended: yellow, not green
    assert (row["due"], row["due_source"], row["workdays_left"], row["light"]) == (
        "2026-12-18", "extension", 17, "yellow")
    assert cli([*args, "--to", "2026-12-10"]).code == 1           # not later than current
    assert cli([*args, "--to", "2027-01-29"]).code == 0
    capped = cli([*args, "--to", "2027-02-26"])
    assert capped.code == 1 and "达到上限" in capped.err
    shown = cli(["--db", db_url, "show", "5"]).out
    assert shown.count("延期") >= 2
    done = cli(["--db", db_url, "extend", "1", "--to", "2027-01-01", "--reason", "x",
                "--approved-by", "y", "--date", "2026-11-25"])
    assert done.code == 1 and "已完成" in done.err


def test_bad_config_is_a_clear_error(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text("[lights]\nyelow_within = 5\n", encoding="utf-8")
    result = cli(["--db", sqlite_url, "--config", str(tmp_path), "check"])
    assert result.code == 1
    assert "rules.toml" in result.err and "lights.yelow_within" in result.err
    assert "Traceback" not in result.err


def test_check_json_and_json_lines_of_a_ledger_larger_than_a_batch(cli: Any, db_url: str, tmp_path: Path) -> None:
    """Plans are written a batch at a time: an array and JSON Lines of 2,345 items (three
    batches, the last short) hold every item once, in the same order, the same objects;
    nothing open is an empty array and no lines."""
    assert cli(["--db", db_url, "check", "--date", "2026-11-25", "--json"]).out == "[]\n"
    assert cli(["--db", db_url, "check", "--date", "2026-11-25", "--jsonl"]).out == ""
    path = tmp_path / "台账.csv"
    rows = "".join(f"{n},第{n}项问题：制度执行不到位,2026年{n % 12 + 1}月{n % 27 + 1}日,未完成,周敏\n"
                   for n in range(1, 2346))
    path.write_text("序号,问题描述,整改时限,完成情况,责任人\n" + rows, encoding="utf-8")
    cli(["--db", db_url, "import", str(path)])
    array = cli(["--db", db_url, "check", "--date", "2026-11-25", "--json"]).json()
    lines = cli(["--db", db_url, "check", "--date", "2026-11-25", "--jsonl"]).out
    assert lines.endswith("}\n") and "\n\n" not in lines
    assert [json.loads(line) for line in lines.splitlines()] == array
    assert sorted(r["no"] for r in array) == list(range(1, 2346))


def test_a_streamed_read_of_the_active_items_is_the_whole_read(db_url: str, tmp_path: Path) -> None:
    """The active items streamed a chunk at a time (PostgreSQL: one statement whose rows
    come on without a round trip a chunk) are the items read at once, field for field, in
    the same order, for every unit or one; a stream left midway leaves the connection fit
    for the next unit of work."""
    from rectify_core.importers import read_workbook
    from rectify_core.ledger import db, obligations
    from rectify_core.ledger.store import save_ledger
    from rectify_core.runs import daily
    from tests.deliveries import NOW
    from tests.test_parallel_read import _write

    engine = db.make_engine(db_url)
    with db.transaction(engine) as s:  # two units, four statuses, deadlines of all kinds
        for ledger in read_workbook(_write(tmp_path / "台账.csv", 80, False)).ledgers:
            save_ledger(ledger, NOW, session=s)
    with db.transaction(engine) as s:
        whole = obligations.active_items(session=s)
        unit = whole[0].unit
        assert len(whole) > 30 and len({o.status for o in whole}) == 2 and len({o.unit for o in whole}) == 2
        for alone in (False, True):
            assert list(obligations.stream_active_items(session=s, chunk=3, alone=alone)) == whole
        assert list(obligations.stream_active_items(session=s, unit=unit, chunk=3, alone=True)) == [
            o for o in whole if o.unit == unit]
        assert list(obligations.stream_active_items(session=s, unit="没有这个单位", alone=True)) == []
    from rectify_core.config.settings import load_settings

    plans = daily.iter_item_plans(engine, load_settings(None), NOW.date())
    assert next(plans).item == whole[0]
    plans.close()  # left midway: its transaction is rolled back, its connection back in the pool
    with db.transaction(engine) as s:
        assert obligations.active_items(session=s) == whole
    engine.dispose()
