"""The inspection's order is the round's: a sheet sorted another way (by 责任单位, say)
never renumbers or reorders the aspects the feedback gave; a new aspect goes last and is
named at import; the report, `show` and the dashboard read them in that order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document

HEAD = "序号,问题类别,问题,责任领导,责任人,整改时限,完成情况\n"
ROWS = [("贯彻落实党的路线方针政策", "理论学习不深入"), ("贯彻落实党的路线方针政策", "政策落实有偏差"),
        ("全面从严治党", "公务接待不规范"), ("党组织建设", "组织生活不严肃"), ("巡察审计整改", "审计整改不到位")]


def _sheet(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + "".join(f"{n},{a},{t},胡志云,周敏,2027年3月31日,未完成\n"
                                   for n, (a, t) in enumerate(rows, 1)), encoding="utf-8")
    return path


def test_a_resorted_sheet_keeps_the_feedbacks_aspects(cli: Any, db_url: str, tmp_path: Path) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", str(_sheet(tmp_path / "w1" / "台账.csv", ROWS)), "--unit", "测试局"]).code == 0
    resorted = [*sorted(ROWS, key=lambda r: r[0], reverse=True), ("新发现问题", "新问题一项")]
    again = cli([*base, "import", str(_sheet(tmp_path / "w2" / "台账.csv", resorted)), "--unit", "测试局"])
    assert again.code == 0, again.err
    assert "新增方面：新发现问题（排在本轮已有方面之后" in again.out
    items = {r["title"]: r for r in cli([*base, "items", "--json"]).json()}
    assert [items[t]["aspect_no"] for _, t in ROWS] == [1, 1, 2, 3, 4]      # the feedback's numbers, unchanged
    assert items["新问题一项"]["aspect_no"] == 5
    shown = cli([*base, "show", str(items["组织生活不严肃"]["no"])])
    assert "方面：3. 党组织建设" in shown.out, shown.out
    out = tmp_path / "报告.docx"
    assert cli([*base, "report", "-o", str(out)]).code == 0
    headings = [p.text for p in Document(str(out)).paragraphs if p.text.startswith("（")]
    firsts = [h.split("）", 1)[1][:4] for h in headings[:5]]
    assert firsts == ["贯彻落实", "全面从严", "党组织建", "巡察审计", "新发现问"]
    board = tmp_path / "看板.html"
    assert cli([*base, "dashboard", "-o", str(board)]).code == 0
    page = board.read_text(encoding="utf-8")
    places = [page.index(a) for a in ("贯彻落实党的路线方针政策", "全面从严治党", "党组织建设", "巡察审计整改")]
    assert places == sorted(places)                                           # not by completion rate
