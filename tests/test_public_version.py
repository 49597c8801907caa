"""The public version (巡察整改情况公开): the form units publish, without anyone's name,
deadline or department, and read back by rectify's own importer to the same problems and
statuses — for the demo ledger and for the shared published sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docx import Document

from rectify_flows.cli import DEMO_LEDGER

PEOPLE = ("胡志云", "刘立强", "周敏", "李强", "王芳", "赵磊", "孙丽", "陈学文")


def _items(cli: Any, url: str) -> list[tuple[int, str, str]]:
    return sorted((r["no"], r["title"], r["status"]) for r in cli(["--db", url, "items", "--json"]).json())


@pytest.mark.parametrize("suffix", [".txt", ".docx"])
def test_the_public_version_names_nobody_and_reads_back_whole(cli: Any, db_url: str, tmp_path: Path,
                                                               sqlite_template: Path, suffix: str) -> None:
    base = ["--db", db_url]
    assert cli([*base, "import", str(DEMO_LEDGER)]).code == 0
    assert cli([*base, "close", "1", "--evidence-text", "追回款项收据", "--by", "周敏", "--verified-by", "王敏",
                "--date", "2026-11-20"]).code == 0
    out = tmp_path / f"公开稿{suffix}"
    made = cli([*base, "report", "--public", "--date", "2026-11-25", "-o", str(out)])
    assert made.code == 0 and "已生成整改进展情况公开稿" in made.out, made.err
    text = (out.read_text(encoding="utf-8") if suffix == ".txt"
            else "\n".join(p.text for p in Document(str(out)).paragraphs))
    assert not [name for name in PEOPLE if name in text]                 # nobody's name
    for field in ("责任领导", "责任人", "责任部门", "整改时限"):
        assert f"{field}：" not in text
    assert "整改情况：" in text and "完成情况：已完成" in text and "二、集中整改期内整改进展情况" in text
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(sqlite_template.read_bytes())
    again = cli(["--db", f"sqlite:///{fresh}", "import", str(out), "--unit", "区交通运输局党组"])
    assert again.code == 0, again.err
    assert _items(cli, f"sqlite:///{fresh}") == _items(cli, db_url)          # the same problems and statuses


def test_the_shared_samples_public_version_reads_back_to_its_37_problems(cli: Any, sqlite_url: str,
                                                                          sample: Path, tmp_path: Path,
                                                                          sqlite_template: Path) -> None:
    assert cli(["--db", sqlite_url, "import", str(sample)]).code == 0
    out = tmp_path / "公开稿.txt"
    assert cli(["--db", sqlite_url, "report", "--public", "--date", "2025-06-30", "-o", str(out)]).code == 0
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(sqlite_template.read_bytes())
    assert cli(["--db", f"sqlite:///{fresh}", "import", str(out)]).code == 0
    back = _items(cli, f"sqlite:///{fresh}")
    assert back == _items(cli, sqlite_url)
    assert len(back) == 37 and sum(s == "已完成" for *_, s in back) == 34
    audit = cli(["--db", f"sqlite:///{fresh}", "audit", str(out)])
    assert audit.code == 0, audit.out + audit.err
