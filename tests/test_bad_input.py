"""Bad input: every problem of a file at once, named by place, database untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from rectify_core.errors import InputError
from rectify_core.importers import read_ledger
from rectify_core.ledger import db
from rectify_core.ledger.models import Event, Item
from tests.reports import STYLE_A


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        read_ledger(path)
    assert str(path) in str(info.value)
    return [str(p) for p in info.value.problems]


def test_report_collects_every_problem(tmp_path: Path) -> None:
    bad = (STYLE_A.replace("于2024年11月清查", "于2025年2月30日清查")
           .replace("问题2：票据与附件金额不符。", "问题2：")
           .replace("完成情况：正在整改", "完成情况：差不多了")
           .replace("问题4：", "问题3："))
    path = tmp_path / "bad.txt"
    path.write_text(bad, encoding="utf-8")
    problems = _problems(path)
    assert any("第12行" in p and "2025年2月30日" in p and "不存在" in p for p in problems)
    assert any("问题2缺少问题内容" in p for p in problems)
    assert any("无法识别的完成情况“差不多了”" in p for p in problems)
    assert any("问题编号3重复" in p for p in problems)


def test_ledger_row_problems(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["序号", "问题", "整改时限", "完成情况"])
    sheet.append([1, "甲", "2025年2月30日", "已完成"])
    sheet.append([2, None, "2025年8月底前", "已完成"])
    sheet.append([2, "丙", None, "已完成"])
    sheet.append([4, "丁", None, "做了一半"])
    path = tmp_path / "bad.xlsx"
    book.save(path)
    problems = _problems(path)
    assert len(problems) == 4
    assert "第2行" in problems[0] and "2025年2月30日" in problems[0]
    assert "第3行" in problems[1] and "缺少问题内容" in problems[1]
    assert "第4行" in problems[2] and "序号 2 与第3行重复" in problems[2]
    assert "第5行" in problems[3] and "做了一半" in problems[3]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "文件是空的"),
    (b"  \n\n ", "文件是空的"),
    (b"\x00\x01\x02\x03binary\x00", "二进制文件"),
    (b"\xfe\xfd\x80\x81 not text", "无法识别文件编码"),  # (FF FE would mark UTF-16)
    (b"\xff\xfe\x00\xd8\x41", "无法识别文件编码"),  # UTF-16 cut inside a surrogate pair
    (b"PK\x03\x04 not really a zip", "不是 Word"),
    (b"\xd0\xcf\x11\xe0old", "旧版 Office"),
    ("只是一段普通文字。\n没有任何问题编号。".encode(), "未识别出任何问题条目"),
])
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    assert any(message in p for p in _problems(path))


def test_missing_file(tmp_path: Path) -> None:
    assert _problems(tmp_path / "nope.txt") == ["文件不存在"]


def _counts(url: str) -> tuple[int, int]:
    engine = db.make_engine(url)
    with db.transaction(engine) as s:
        counts = (s.scalar(select(func.count()).select_from(Item)) or 0,
                  s.scalar(select(func.count()).select_from(Event)) or 0)
    engine.dispose()
    return counts


def test_cli_bad_import_leaves_database_unchanged(cli: Any, db_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(STYLE_A, encoding="utf-8")
    assert cli(["--db", db_url, "import", str(good)]).code == 0
    before = _counts(db_url)
    bad = tmp_path / "bad.txt"
    bad.write_text(STYLE_A.replace("完成情况：正在整改", "完成情况：不知道"), encoding="utf-8")
    result = cli(["--db", db_url, "import", str(bad)])
    assert result.code == 1
    assert "导入失败" in result.err and "bad.txt" in result.err and "不知道" in result.err
    assert "Traceback" not in result.err + result.out
    assert _counts(db_url) == before
