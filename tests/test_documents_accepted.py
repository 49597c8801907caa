"""Issue 37's acceptance: documents a 县委 accepts as they are. A round is imported, its
sheet re-sorted and re-imported, an item closed, looked back and reopened; then the report,
the bulletin and every export sheet are printed by LibreOffice and read as pages: aspects
in the feedback's order, the rebound told, the overdue named, no cell wrapped mid-word,
page numbers on every page; the archive's 清单.sha256 passes `sha256sum -c`; the public
version re-imports to the same problems."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from tests.test_print import flat, pages, to_pdf

UNIT = "区住房和城乡建设局党组"
HEAD = "序号,问题类别,问题,责任领导,责任人,整改时限,完成情况\n"
ROWS = [("一、贯彻落实党的路线方针政策方面", "理论学习不深入", "2026年9月30日", "未完成"),
        ("一、贯彻落实党的路线方针政策方面", "城市更新政策落实有偏差", "2027年3月31日", "未完成"),
        ("二、全面从严治党方面", "公务接待不规范", "2026年10月31日", "已完成"),
        ("三、党组织建设方面", "组织生活不严肃", "2027年6月30日", "未完成"),
        ("四、巡察审计整改方面", "审计整改不到位", "2026年8月31日", "未完成")]


def _sheet(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD + "".join(f"{n},{a},{t},胡志云,周敏,{d},{s}\n" for n, (a, t, d, s) in enumerate(rows, 1)),
                    encoding="utf-8")
    return path


def test_the_documents_go_up_as_they_are(cli: Any, sqlite_url: str, tmp_path: Path,
                                         sqlite_template: Path) -> None:
    base = ["--db", sqlite_url]
    assert cli([*base, "import", str(_sheet(tmp_path / "w1" / "台账.csv", ROWS)), "--unit", UNIT,
                "--date", "2026-07-01"]).code == 0
    by_department = [ROWS[3], ROWS[0], ROWS[4], ROWS[2], ROWS[1]]                 # sorted another way
    assert cli([*base, "import", str(_sheet(tmp_path / "w2" / "台账.csv", by_department)), "--unit", UNIT,
                "--date", "2026-07-08"]).code == 0
    closed = cli([*base, "close", "4", "--evidence-text", "接待清单已规范", "--by", "周敏", "--verified-by", "王芳",
                  "--date", "2026-10-20"])                                       # 公务接待不规范, now 4
    assert closed.code == 0, closed.err
    assert cli([*base, "lookback", "assign", "--date", "2027-01-20"]).code == 0
    assert cli([*base, "lookback", "record", "4", "--outcome", "反弹", "--note", "又发现超标接待",
                "--by", "巡察办", "--date", "2027-01-25"]).code == 0
    day = "2027-02-01"
    report, bulletin, ledger = tmp_path / "报告.docx", tmp_path / "通报.docx", tmp_path / "台账.xlsx"
    for args in (["report", "-o", str(report)], ["bulletin", "-o", str(bulletin)], ["export", "-o", str(ledger)]):
        done = cli([*base, *args, "--date", day])
        assert done.code == 0, done.err
    printed = {path.name: pages(to_pdf(path)) for path in (report, bulletin, ledger)}
    text = flat("".join(printed["报告.docx"]))
    heads = [text.index(a) for a in ("（一）贯彻落实", "（二）全面从严治党", "（三）党组织建设", "（四）巡察审计整改")]
    assert heads == sorted(heads)                                                 # the feedback's order
    assert "2026年10月20日销号，2027年1月25日经“回头看”发现反弹回潮" in text         # the rebound told
    assert "已超过整改时限的" in text and "“审计整改不到位”" in text                  # the overdue named
    for name, sheets in printed.items():
        total = len(sheets)
        for n, page in enumerate(sheets, 1):                                      # numbered, every page
            assert re.search(rf"—\s*{n}\s*—", page) or re.search(rf"第\s*{n}\s*页，共\s*{total}\s*页", page), \
                (name, n, page[-200:])
    for sheets in printed.values():
        joined = "\n".join(sheets)
        assert not re.search(r"个工作\s*$", joined, re.M) and not re.search(r"进展情\s*$", joined, re.M)
    archive = tmp_path / "档案.zip"
    assert cli([*base, "archive", "--date", day, "-o", str(archive)]).code == 0
    out = tmp_path / "档案"
    assert subprocess.run(["unzip", "-qq", str(archive), "-d", str(out)], check=False).returncode == 0
    assert subprocess.run(["sha256sum", "-c", "--quiet", "清单.sha256"], cwd=out, check=False).returncode == 0
    public = tmp_path / "公开稿.txt"
    assert cli([*base, "report", "--public", "--date", day, "-o", str(public)]).code == 0
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(sqlite_template.read_bytes())
    assert cli(["--db", f"sqlite:///{fresh}", "import", str(public), "--unit", UNIT]).code == 0
    mine = sorted((r["title"], r["status"]) for r in cli([*base, "items", "--json"]).json())
    assert sorted((r["title"], r["status"]) for r in cli(["--db", f"sqlite:///{fresh}", "items", "--json"]).json()) \
        == mine
