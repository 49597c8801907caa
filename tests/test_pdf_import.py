"""PDF reports and ledgers (LibreOffice prints the Word files the tests write): read through
the same parsers as Word, page numbers and running heads dropped; a scan, a damaged file
and a PDF of thousands of pages refused with what to do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from PIL import Image

from rectify_flows.cli import DEMO_LEDGER
from tests.test_print import to_pdf

SOFFICE = shutil.which("soffice")
needs_office = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed (.ci/run installs it)")


def _items(cli: Any, url: str) -> list[tuple[int, str, str]]:
    return sorted((r["no"], r["title"], r["status"]) for r in cli(["--db", url, "items", "--json"]).json())


@needs_office
def test_a_printed_report_reads_as_its_word_file(cli: Any, db_url: str, tmp_path: Path,
                                                 sqlite_template: Path) -> None:
    assert cli(["--db", db_url, "import", str(DEMO_LEDGER)]).code == 0
    report = tmp_path / "整改进展情况报告.docx"
    assert cli(["--db", db_url, "report", "--date", "2026-11-25", "-o", str(report)]).code == 0
    fresh = tmp_path / "fresh.db"
    fresh.write_bytes(sqlite_template.read_bytes())
    done = cli(["--db", f"sqlite:///{fresh}", "import", str(to_pdf(report))])
    assert done.code == 0, done.err
    assert _items(cli, f"sqlite:///{fresh}") == _items(cli, db_url)


@needs_office
def test_a_printed_ledger_table_reads_as_a_ledger(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    document = Document()
    document.add_paragraph("区测试局党组巡察反馈问题整改台账")
    rows = [("序号", "问题", "责任领导", "责任人", "整改时限", "完成情况"),
            ("1", "政府采购制度执行不到位", "胡志云", "周敏", "2027年3月31日", "已完成"),
            ("2", "行政执法案卷质量不高", "胡志云", "王芳", "2027年6月30日", "未完成")]
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    word = tmp_path / "台账.docx"
    document.save(str(word))
    done = cli(["--db", sqlite_url, "import", str(to_pdf(word)), "--unit", "测试局"])
    assert done.code == 0, done.err
    assert _items(cli, sqlite_url) == [(1, "政府采购制度执行不到位", "已完成"), (2, "行政执法案卷质量不高", "未完成")]


def _pages_pdf(path: Path, count: int) -> Path:
    """A real (if blank) PDF of `count` pages, written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [" + " ".join(f"{3 + n} 0 R" for n in range(count)) + f"] /Count {count} >>"]
    objects += ["<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * count
    body, offsets = b"%PDF-1.4\n", []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += f"{n} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(body)
    return path


def test_a_scan_a_huge_and_a_damaged_pdf_are_refused_saying_what_to_do(cli: Any, sqlite_url: str,
                                                                       tmp_path: Path) -> None:
    scan = tmp_path / "扫描件.pdf"
    Image.new("RGB", (600, 800), "white").save(scan)                       # an image, no text layer
    refused = cli(["--db", sqlite_url, "import", str(scan)])
    assert refused.code != 0 and "没有文字层" in refused.err and "Traceback" not in refused.err
    huge = cli(["--db", sqlite_url, "import", str(_pages_pdf(tmp_path / "两千页.pdf", 2000))])
    assert huge.code != 0 and "共 2000 页" in huge.err
    broken = tmp_path / "坏.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 100)
    refused = cli(["--db", sqlite_url, "import", str(broken)])
    assert refused.code != 0 and "PDF" in refused.err and "Traceback" not in refused.err
    assert cli(["--db", sqlite_url, "items", "--json"]).json() == []


@needs_office
def test_an_encrypted_pdf_is_refused_saying_what_to_do(cli: Any, sqlite_url: str, tmp_path: Path) -> None:
    text = tmp_path / "进展.txt"
    text.write_text("问题1：政府采购制度执行不到位\n完成情况：已完成\n", encoding="utf-8")
    options = ('pdf:writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
               '"DocumentOpenPassword":{"type":"string","value":"secret"}}')
    subprocess.run([str(SOFFICE), "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}",
                    "--convert-to", options, "--outdir", str(tmp_path / "pdf"), str(text)], check=True,
                   capture_output=True, timeout=180)
    refused = cli(["--db", sqlite_url, "import", str(tmp_path / "pdf" / "进展.pdf")])
    assert refused.code != 0 and "已加密" in refused.err and "Traceback" not in refused.err
