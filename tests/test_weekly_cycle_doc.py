"""docs/weekly-cycle.md's renumbered week, run as written: its commands against sheets of
the shape it describes, and the output lines it shows found in what rectify prints."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Engine, select

from rectify_core.ledger import db
from rectify_core.ledger.models import Item
from tests.fixtures.databases import ROOT

WEEK1 = ["干部人事档案管理不规范", "上轮巡察整改不彻底", "发展党员程序不规范", "公务接待清单不完整",
         "政府采购制度执行不到位"]
# row 2 deleted, the rest moved up, a title reworded (and its measures with it)
WEEK2 = [WEEK1[0], WEEK1[2], "公务接待清单不够完整", WEEK1[4]]


def _workbook(path: Path, titles: list[str], day: str) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["区交通运输局巡察反馈问题整改台账"])
    sheet.append([f"填报单位：区交通运输局（盖章）  填报日期：{day}"])
    sheet.append(["序号", "问题", "整改措施", "责任领导", "责任人", "整改时限", "完成情况"])
    for n, title in enumerate(titles, start=1):
        sheet.append([n, title, "一是梳理问题清单" if "不够" not in title else "一是梳理问题清单并逐项补齐",
                      "胡志云", "周敏", "2027-03-31", "未完成"])
    book.save(path)
    return path


def _example() -> list[tuple[str, list[str]]]:
    """The renumbered week's commands, each with the output lines the doc shows under it."""
    text = (ROOT / "docs" / "weekly-cycle.md").read_text(encoding="utf-8")
    block = text.split("A renumbered week", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.strip().splitlines():
        if line.startswith("#"):
            steps[-1][1].append(line.lstrip("#").strip())
        else:
            steps.append((line.split("  #", 1)[0].strip(), []))
    return steps


def test_the_renumbered_week_runs_as_documented(cli: Any, db_url: str, engine: Engine, tmp_path: Path,
                                                monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    _workbook(tmp_path / "台账-11月27日.xlsx", WEEK1, "2026年11月27日")
    assert cli(["--db", db_url, "import", "台账-11月27日.xlsx", "--date", "2026-11-27"]).code == 0
    _workbook(tmp_path / "台账-12月04日.xlsx", WEEK2, "2026年12月4日")
    steps = _example()
    assert [s[0].split()[1] for s in steps] == ["import", "import", "withdraw"]
    for command, shown in steps:
        words = shlex.split(command)
        assert words[0] == "rectify"
        result = cli(["--db", db_url, *words[1:]])
        assert result.code == 0, (command, result.err)
        printed = [" ".join(line.split()) for line in result.out.splitlines()]
        for expected in shown:
            assert " ".join(expected.split()) in printed, (expected, result.out)
    with db.transaction(engine) as s:
        items = {i.title: i for i in s.scalars(select(Item))}
    assert items["上轮巡察整改不彻底"].status == "withdrawn" and items["上轮巡察整改不彻底"].ref == "原2"
    assert items["发展党员程序不规范"].ref == "2" and items["发展党员程序不规范"].status == "open"
