"""Next year's holidays from the State Council's notice: read, shown, then written into the
office's calendar.toml; a notice whose weekdays do not match its dates is refused; from
1 November the daily run says while next year is still estimated."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from docx import Document

from rectify_core.config.settings import load_settings
from tests.fixtures.databases import ROOT

NOTICE = """国务院办公厅关于2027年部分节假日安排的通知
经国务院批准，现将2027年元旦、春节、清明节、劳动节、端午节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月6日（农历除夕、周六）至14日（农历正月初八、周日）放假调休，共9天。2月20日（周六）上班。
三、清明节：4月3日（周六）至5日（周一）放假，共3天。
四、劳动节：5月1日（周六）至5日（周三）放假调休，共5天。4月25日（周日）、5月8日（周六）上班。
五、端午节：6月9日（周三）放假，共1天。
"""


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "cfg"
    config.mkdir()
    for name in ("rules.toml", "calendar.toml"):
        shutil.copy(ROOT / "config" / name, config / name)
    return config


def test_the_notice_is_shown_then_written_and_counts(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path)
    word = tmp_path / "通知.docx"
    document = Document()
    for line in NOTICE.splitlines():
        document.add_paragraph(line)
    document.save(str(word))
    base = ["--db", sqlite_url, "--config", str(config)]
    before = load_settings(config).calendar
    assert before.is_estimated(dt.date(2027, 2, 20)) and not before.is_workday(dt.date(2027, 2, 20))
    shown = cli([*base, "calendar", "import", str(word)])
    assert shown.code == 0 and "春节：2月6日至2月14日放假，共9天；2月20日上班" in shown.out
    assert "未写入" in shown.out and "\n[years.2027]" not in (config / "calendar.toml").read_text(encoding="utf-8")
    written = cli([*base, "calendar", "import", str(word), "--yes"])
    assert written.code == 0 and "已写入" in written.out, written.err
    after = load_settings(config).calendar
    assert not after.is_estimated(dt.date(2027, 6, 1))
    assert after.is_workday(dt.date(2027, 2, 20)) and not after.is_workday(dt.date(2027, 2, 8))   # 调休
    assert not after.is_workday(dt.date(2027, 6, 9))                                             # 端午 on a Wednesday
    assert "2027 年：按官方节假日安排计算" in cli([*base, "calendar"]).out
    again = cli([*base, "calendar", "import", str(word), "--yes"])
    assert again.code == 0 and "无需写入" in again.out


def test_a_notice_of_another_year_is_refused(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    wrong = tmp_path / "通知.txt"
    wrong.write_text(NOTICE.replace("2027年", "2028年"), encoding="utf-8")       # the weekdays are 2027's
    refused = cli(["--db", sqlite_url, "--config", str(_config(tmp_path)), "calendar", "import", str(wrong)])
    assert refused.code != 0 and "与括号中的星期不符" in refused.err and "Traceback" not in refused.err
    other = tmp_path / "别的.txt"
    other.write_text("关于做好年终工作的通知\n一、总体要求：认真做好。\n", encoding="utf-8")
    refused = cli(["--db", sqlite_url, "calendar", "import", str(other)])
    assert refused.code != 0 and "不像国务院办公厅的节假日安排通知" in refused.err


def test_from_november_the_daily_run_says_next_year_is_estimated(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path)
    base = ["--db", sqlite_url, "--config", str(config)]
    november = cli([*base, "notify", "--date", "2026-11-25"])
    assert "2027 年的节假日安排尚未读入" in november.err
    assert "节假日安排尚未读入" not in cli([*base, "notify", "--date", "2026-10-26"]).err
    notice = tmp_path / "通知.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    assert cli([*base, "calendar", "import", str(notice), "--yes"]).code == 0
    assert "节假日安排尚未读入" not in cli([*base, "notify", "--date", "2026-11-26"]).err
