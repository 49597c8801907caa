"""Published progress reports: the sample, numbering styles, encodings, Word files."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from rectify_core.importers import read_ledger
from rectify_core.vocab import DONE, ONGOING, OPEN
from tests.reports import STYLE_A, STYLE_B, STYLE_C, docx_of


def test_sample_structure(sample: Path) -> None:
    ledger = read_ledger(sample)
    assert len(ledger.items) == 37
    assert [i.no for i in ledger.items] == list(range(1, 38))
    assert len(ledger.aspects) == 4
    assert len(ledger.topics) == 15
    assert Counter(i.status for i in ledger.items) == {DONE: 34, ONGOING: 3}
    assert [i.no for i in ledger.items if i.status == ONGOING] == [3, 7, 29]
    assert [i.no for i in ledger.items if i.immediate] == [1, 25, 26]


def test_sample_round_facts(sample: Path) -> None:
    ledger = read_ledger(sample)
    assert ledger.inspector == "区委第三巡察组"
    assert (ledger.inspection_start, ledger.inspection_end) == (
        dt.date(2024, 9, 6), dt.date(2024, 11, 20))
    assert ledger.feedback_date == dt.date(2025, 1, 7)
    assert ledger.report_date == dt.date(2025, 7, 7)
    assert ledger.unit == "益阳市赫山区交通运输局党组"


def test_sample_measures_and_dates(sample: Path) -> None:
    items = {i.no: i for i in read_ledger(sample).items}
    assert [m.date for m in items[1].measures] == ["2024-11", "2025-03", "2025-03"]
    assert [m.date for m in items[3].measures] == [
        "2025-01", "2025-02", "2025-04", "2025-04", "2025-05"]
    assert [(m.date, m.date_end) for m in items[12].measures][:2] == [
        ("2025-01", "2025-05"), ("2025-02", None)]
    assert items[2].measures[0].date == "2025-06-13"
    assert items[7].measures[1].date is None  # "二是项目新市渡段…" names no date
    # item 21 has no 整改情况 label: its text is still its measures
    assert len(items[21].measures) == 2
    assert items[21].measures[0].text.startswith("2025年3月健全了")
    assert items[1].figures[0]["value"] == 54410
    # the closing section (三、下一步…) is not part of item 37
    assert "下一步" not in (items[37].measures_text or "")
    assert items[37].measures[-1].text.endswith("将相关材料留存管理。")


def test_style_a_fields_in_any_order_and_chrome() -> None:
    ledger = read_ledger(_write("a.txt", STYLE_A.encode()))
    items = {i.no: i for i in ledger.items}
    assert len(items) == 4 and len(ledger.aspects) == 2 and len(ledger.topics) == 2
    assert items[1].immediate and items[1].deadline_kind == "immediate"
    assert (items[1].leader, items[1].leader_title) == ("胡志云", "党组副书记、副局长")
    assert items[1].department == "财务股"
    assert (items[2].deadline, items[2].deadline_kind) == (dt.date(2025, 6, 30), "dated")
    assert [m.date for m in items[2].measures] == ["2025-03", "2025-06-05"]
    assert items[3].status == ONGOING and items[3].department == "办公室"
    assert items[3].deadline == dt.date(2026, 6, 30)
    assert [m.date for m in items[3].measures] == ["2025-01", "2025-03"]
    assert items[4].deadline_kind == "long_term" and items[4].status == OPEN
    assert "持续巩固" not in (items[4].measures_text or "")
    assert ledger.feedback_date == dt.date(2025, 1, 7)


def test_style_b_paren_items_under_numbered_topics() -> None:
    ledger = read_ledger(_write("b.txt", STYLE_B.encode()))
    # "(1)" restarts under each topic; items are numbered across the report
    assert [(i.no, i.aspect_no, i.topic_no, i.status) for i in ledger.items] == [
        (1, 1, 1, DONE), (2, 1, 1, DONE), (3, 2, 2, OPEN)]
    assert ledger.items[2].deadline == dt.date(2024, 12, 31)
    assert ledger.inspector == "市委第二巡察组"


def test_style_c_chinese_numerals() -> None:
    ledger = read_ledger(_write("c.txt", STYLE_C.encode()))
    assert [(i.no, i.aspect_no, i.status) for i in ledger.items] == [
        (1, 1, DONE), (2, 1, DONE), (3, 2, ONGOING)]
    assert [a.title for a in ledger.aspects] == [
        "关于“政治建设”方面的问题", "关于“作风建设”方面的问题"]


@pytest.mark.parametrize(("encoding", "newline"), [
    ("utf-8", "\n"), ("utf-8-sig", "\n"), ("gbk", "\n"), ("gb18030", "\r\n"), ("utf-8", "\r\n"),
])
def test_encodings_and_line_ends(encoding: str, newline: str) -> None:
    data = STYLE_A.replace("\n", newline).encode(encoding)
    ledger = read_ledger(_write(f"r-{encoding}.txt", data))
    assert next(i.title for i in ledger.items) == "无依据发放津补贴（立行立改）。"
    assert len(ledger.items) == 4


def test_half_width_punctuation_reads_the_same() -> None:
    half = STYLE_A.replace("：", ":").replace("（", "(").replace("）", ")").replace("，", ",")
    full, halfl = read_ledger(_write("f.txt", STYLE_A.encode())), read_ledger(
        _write("h.txt", half.encode()))
    assert [(i.no, i.status, i.deadline) for i in full.items] == [
        (i.no, i.status, i.deadline) for i in halfl.items]


def test_docx_report() -> None:
    ledger = read_ledger(docx_of(STYLE_C, _TMP / "c.docx"))
    assert [(i.no, i.status) for i in ledger.items] == [(1, DONE), (2, DONE), (3, ONGOING)]


_TMP = Path()


@pytest.fixture(autouse=True)
def _tmp(tmp_path: Path) -> None:
    global _TMP
    _TMP = tmp_path


def _write(name: str, data: bytes) -> Path:
    path = _TMP / name
    path.write_bytes(data)
    return path
