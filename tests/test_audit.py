from __future__ import annotations

from pathlib import Path
from typing import Any

from rectify_core.importers import read_ledger
from rectify_core.importers.audit import audit_ledger, read_claims
from tests.reports import STYLE_A, STYLE_B


def test_sample_findings(sample: Path) -> None:
    result = audit_ledger(read_ledger(sample))
    assert result.claims["items"] == 37 and result.claims["aspects"] == 4
    assert result.claims["done"] == 34 and result.claims["ongoing"] == 3
    assert result.claims["immediate"] == 2
    kinds = [f["kind"] for f in result.findings]
    assert kinds == ["count_immediate", "duplicate_aspect"]
    assert "问题1、25、26" in result.findings[0]["message"]
    assert "(三)、(四)" in result.findings[1]["message"]


def test_consistent_report_has_no_findings(tmp_path: Path) -> None:
    path = tmp_path / "ok.txt"
    path.write_text(STYLE_A, encoding="utf-8")
    result = audit_ledger(read_ledger(path))
    assert result.claims["open"] == 1
    assert result.findings == []


def test_rate_and_open_claims(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_text(STYLE_B.replace("完成率67%", "完成率80%"), encoding="utf-8")
    result = audit_ledger(read_ledger(path))
    assert result.claims["aspects"] == 2  # "两个方面"
    assert [f["kind"] for f in result.findings] == ["count_rate"]


def test_claims_in_other_wording() -> None:
    claims = read_claims([(1, "反馈问题25个，已完成整改19个、正在整改6个，整改完成率76%")])
    assert (claims["items"], claims["done"], claims["open"], claims["rate"]) == (25, 19, 6, 76.0)


def test_audit_cli_json(cli: Any, sample: Path) -> None:
    result = cli(["audit", str(sample), "--json"])
    assert result.code == 0
    data = result.json()
    assert set(data) >= {"claims", "findings"}
    assert len(data["findings"]) == 2
    text = cli(["audit", str(sample)]).out
    assert "1. 摘要称立行立改问题2个" in text
