"""The record is never lost: evidence kept in the store, backups taken while others write,
guarded restores (older schemas brought up), and the round's archive, on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from rectify_core.ledger import backup, db
from rectify_flows.cli import DEMO_LEDGER
from tests.fixtures.databases import pg_database

TABLES = ("rounds", "items", "closures", "events", "uploads", "notices", "measures")
EVIDENCE = b"%PDF-1.4 \xe6\x94\xb6\xe6\x8d\xae receipt " + bytes(range(256)) * 40


class Office:
    """The CLI against one database and one file store, as a clerk's machine has them."""

    def __init__(self, cli: Any, url: str, files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.cli, self.url, self.files, self.mp = cli, url, files, monkeypatch

    def __call__(self, *args: str) -> Any:
        self.mp.setenv("RECTIFY_FILES_DIR", str(self.files))
        return self.cli(["--db", self.url, *args])


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in TABLES}
    finally:
        engine.dispose()


def _ledger_with_evidence(office: Office, tmp_path: Path) -> None:
    assert office("import", str(DEMO_LEDGER)).code == 0
    proof = tmp_path / "退款收据.pdf"
    proof.write_bytes(EVIDENCE)
    done = office("close", "1", "--evidence", str(proof), "--evidence-text", "追回款项", "--by", "周敏",
                  "--verified-by", "王敏", "--date", "2026-11-23")
    assert done.code == 0, done.err
    assert office("progress", "2", "--text", "已发布腾退公告", "--by", "李强", "--evidence", str(proof),
                  "--date", "2026-11-24").code == 0
    proof.unlink()  # the clerk tidies the folder: the record keeps the evidence itself


def test_evidence_survives_backup_restore_and_archive(cli: Any, db_url: str, spare: Callable[[], str],
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    stored = office.files / hashlib.sha256(EVIDENCE).hexdigest()[:2] / hashlib.sha256(EVIDENCE).hexdigest()
    assert stored.read_bytes() == EVIDENCE
    shown = office("show", "1", "--json").json()
    assert shown["closures"][0]["evidence"][0]["upload"] > 0          # the file is an upload of the item

    out = tmp_path / "备份.zip"
    taken = office("backup", "-o", str(out))
    assert taken.code == 0 and "8 个问题" in taken.out and "文件 1 个" in taken.out, taken.out

    restored = Office(cli, spare(), tmp_path / "restored-files", monkeypatch)
    back = restored("restore", str(out))
    assert back.code == 0 and "放回文件 1 个" in back.out, back.err
    assert snapshot(restored.url) == snapshot(db_url)
    assert (restored.files / stored.relative_to(office.files)).read_bytes() == EVIDENCE

    archive = tmp_path / "整改档案.zip"
    made = restored("archive", "-o", str(archive))
    assert made.code == 0, made.err
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        manifest = zf.read("清单.txt").decode("utf-8-sig").splitlines()
        listed = {line.split("  ")[2]: line.split("  ")[0] for line in manifest if line.count("  ") == 3}
        assert set(listed) == set(names) - {"清单.txt", "清单.sha256"}
        for name, sha in listed.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == sha
        evidence = [n for n in names if n.endswith("/佐证材料/问题1/退款收据.pdf")]
        assert len(evidence) == 1 and zf.read(evidence[0]) == EVIDENCE
        assert any(n.endswith("/整改情况报告.docx") for n in names) and any(n.endswith("/整改台账.xlsx") for n in names)
        # what is compressed already (Office files, evidence) is stored as it is; text is deflated
        kinds = {n: zf.getinfo(n).compress_type for n in names}
        assert {kinds[n] for n in names if n.endswith((".docx", ".xlsx")) or n in evidence} == {zipfile.ZIP_STORED}
        assert {kinds[n] for n in names if n.endswith(".txt")} == {zipfile.ZIP_DEFLATED}
        trail = zf.read(next(n for n in names if n.endswith("/问题记录/问题1.txt"))).decode("utf-8-sig")
        assert "销号（核验人 王敏" in trail and "佐证材料/问题1/退款收据.pdf" in trail and "追回款项" in trail
        progress = zf.read(next(n for n in names if n.endswith("/问题记录/问题2.txt"))).decode("utf-8-sig")
        assert "已发布腾退公告" in progress and "佐证材料/问题2/退款收据.pdf" in progress


WRITER = """
import sys, datetime as dt
from pathlib import Path
from sqlalchemy import insert
from rectify_core.ledger import db
from rectify_core.ledger.models import Event
engine = db.make_engine(sys.argv[1])
stop = Path(sys.argv[2])
while not stop.exists():
    with db.transaction(engine) as s:
        s.execute(insert(Event), [{"round_id": 1, "item_id": 1, "at": dt.datetime.now(dt.UTC), "kind": "progress",
                                   "actor": "writer", "data": {"n": i}} for i in range(50)])
"""


def _events(url: str) -> tuple[int, int]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return (conn.execute(text("SELECT count(*) FROM events WHERE actor = 'writer'")).scalar_one(),
                    conn.execute(text("SELECT count(*) FROM items")).scalar_one())
    finally:
        engine.dispose()


def test_backups_taken_while_another_process_writes_restore_to_a_real_moment(
        cli: Any, db_url: str, spare: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    assert office("import", str(DEMO_LEDGER)).code == 0
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(stop)], stderr=subprocess.PIPE, text=True)
    taken = []
    try:
        while _events(db_url)[0] == 0:
            assert writer.poll() is None, writer.communicate()
            time.sleep(0.05)
        for n in range(3):
            out = tmp_path / f"b{n}.zip"
            assert office("backup", "-o", str(out)).code == 0
            taken.append(out)
            time.sleep(0.2)
    finally:
        stop.touch()
        writer.wait(timeout=30)
    counts = []
    for out in taken:
        url = spare()
        assert Office(cli, url, tmp_path / "r", monkeypatch)("restore", str(out)).code == 0
        written, items = _events(url)
        assert items == 8 and written % 50 == 0  # a whole number of the writer's transactions
        if path := db.sqlite_path(url):
            with sqlite3.connect(path) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        counts.append(written)
    assert counts == sorted(counts) and counts[-1] > counts[0] > 0  # taken while the writer went on


def test_a_backup_of_the_previous_schema_is_brought_up(cli: Any, db_url: str, engine: Engine,
                                                       spare: Callable[[], str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    before = snapshot(db_url)
    db.migrate(engine, "0007", downgrade=True)  # the database as the previous version left it
    engine.dispose()
    out = tmp_path / "old.zip"
    assert office("backup", "-o", str(out)).code == 0
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("manifest.json"))["revision"] == "0007"
    restored = Office(cli, spare(), tmp_path / "restored", monkeypatch)
    back = restored("restore", str(out))
    assert back.code == 0 and "已升级" in back.out, back.err
    assert db.current_revision(db.make_engine(restored.url)) == db.HEAD
    assert snapshot(restored.url) == before


def _corrupt(out: Path, tmp_path: Path) -> dict[str, Path]:
    truncated = tmp_path / "截断.zip"
    truncated.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    foreign = tmp_path / "别的.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    tampered = tmp_path / "改动.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[:-1] + b"X" if info.filename.startswith("files/") else data)
    return {"不存在": tmp_path / "没有.zip", "不完整": truncated, "不是 rectify 的备份": foreign,
            "不是 rectify 的备份文件": DEMO_LEDGER, "校验和不符": tampered}


def test_bad_restores_are_refused_and_change_nothing(cli: Any, db_url: str, spare: Callable[[], str],
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    out = tmp_path / "备份.zip"
    assert office("backup", "-o", str(out)).code == 0
    target = Office(cli, spare(), tmp_path / "target", monkeypatch)
    assert target("import", str(DEMO_LEDGER)).code == 0
    assert target("progress", "3", "--text", "目标库自己的进展", "--by", "李强").code == 0
    before = snapshot(target.url)
    for words, bad in _corrupt(out, tmp_path).items():
        refused = target("restore", str(bad))
        assert refused.code != 0 and words in refused.err and "Traceback" not in refused.err, (words, refused.err)
    over = target("restore", str(out))
    assert over.code != 0 and "已有数据" in over.err and "--force" in over.err
    assert snapshot(target.url) == before

    engine = db.make_engine(target.url)  # another program holds the database
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":  # a write lock held
                conn.exec_driver_sql("INSERT INTO units (name, name_key) VALUES ('写入中', '写入中')")
            busy = target("restore", str(out), "--force")
            assert busy.code != 0 and "正被其他程序使用" in busy.err, busy.err
            conn.rollback()
    finally:
        engine.dispose()
    assert snapshot(target.url) == before

    forced = target("restore", str(out), "--force")
    assert forced.code == 0 and "已先备份当前数据库" in forced.out, forced.err
    assert snapshot(target.url) == snapshot(db_url)
    safety = next((target.files.parent / "backups").glob("rectify-before-restore-*.zip"))
    undo = Office(cli, spare(), tmp_path / "undo", monkeypatch)
    assert undo("restore", str(safety)).code == 0
    assert snapshot(undo.url) == before                                 # what was overwritten is kept


def test_a_backup_restores_only_into_its_own_kind(cli: Any, sqlite_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, sqlite_url, tmp_path / "files", monkeypatch)
    assert office("import", str(DEMO_LEDGER)).code == 0
    out = tmp_path / "b.zip"
    assert office("backup", "-o", str(out)).code == 0
    for url in pg_database():
        refused = Office(cli, url, tmp_path / "pg", monkeypatch)("restore", str(out))
        assert refused.code != 0 and "SQLite 数据库的备份，不能恢复到 PostgreSQL" in refused.err


def test_without_pg_dump_the_message_says_how(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for url in pg_database():
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr(backup, "PG_LIBS", tmp_path)
        refused = Office(cli, url, tmp_path / "files", monkeypatch)("backup", "-o", str(tmp_path / "b.zip"))
        assert refused.code != 0 and "pg_dump" in refused.err and "postgresql-client" in refused.err
        assert not (tmp_path / "b.zip").exists()


def test_the_daily_run_keeps_rotating_backups(harness: None, db_url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from rectify_flows.daily import daily_flow
    from tests.deliveries import setup_db
    from tests.test_flows import _artifact

    config = tmp_path / "config"
    config.mkdir()
    (config / "rules.toml").write_text('[backup]\ndir = "backups"\nkeep = 2\n', encoding="utf-8")
    monkeypatch.setenv("RECTIFY_FILES_DIR", str(tmp_path / "files"))
    setup_db(db_url, tmp_path).dispose()
    results = [daily_flow(date=day, config_dir=str(config), database_url=db_url)
               for day in ("2026-11-24", "2026-11-25", "2026-11-26")]
    kept = sorted((config / "backups").glob("rectify-backup-*.zip"))
    assert [p.name for p in kept] == ["rectify-backup-20261125-010000.zip", "rectify-backup-20261126-010000.zip"]
    last = results[-1]["extra"]["backup"]
    assert last["removed"] == ["rectify-backup-20261124-010000.zip"]
    with backup.opened(kept[-1]) as (_, manifest):
        assert manifest["items"] == last["items"] == results[-1]["items"] > 0
    artifact = _artifact("rectify-daily")
    assert f"备份：{kept[-1]}" in artifact and "保留最近 2 份，删除较早的 1 份" in artifact


HOSTILE_NAMES = ["CON.pdf", "nul.txt.pdf", "Same.pdf", "same.pdf", "整改佐证材料" * 20 + ".pdf",
                 "报告 " * 40 + ".pdf", "𠀀" * 90 + ".pdf"]


def test_an_archive_extracts_anywhere_whatever_its_files_were_called(cli: Any, db_url: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Evidence named like devices, differing only in case, or too long in bytes (CJK takes
    three or four a character) extracts with `unzip`, every file whole and none overwritten."""
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    assert office("import", str(DEMO_LEDGER)).code == 0
    given = tmp_path / "given"
    given.mkdir()
    args = []
    for n in range(len(HOSTILE_NAMES)):
        path = given / f"{n}.pdf"
        path.write_bytes(b"%PDF-1.4 " + str(n).encode())
        args += ["--evidence", str(path)]
    # names no Linux disk holds (over 255 bytes): given to the record as a sender's would be
    names = iter(HOSTILE_NAMES)
    monkeypatch.setattr("rectify_core.ledger.uploads.display_name", lambda raw: next(names))
    assert office("close", "1", *args, "--by", "周敏", "--verified-by", "王敏", "--date", "2026-11-23").code == 0
    archive = tmp_path / "整改档案.zip"
    assert office("archive", "-o", str(archive)).code == 0
    out = tmp_path / "extracted"
    done = subprocess.run(["unzip", "-qq", str(archive), "-d", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    files = [p for p in out.rglob("*") if p.is_file() and "佐证材料" in p.parts]
    assert sorted(p.read_bytes() for p in files) == sorted(b"%PDF-1.4 " + str(n).encode()
                                                           for n in range(len(HOSTILE_NAMES)))
    for p in files:
        assert len(p.name.encode()) <= 255 and p.name == p.name.rstrip(" .") and p.name.endswith(".pdf")
        assert p.name.split(".")[0].upper() not in ("CON", "NUL", "PRN", "AUX")
    folded = [p.name.casefold() for p in files]
    assert len(set(folded)) == len(folded)                             # none would overwrite another on Windows


def test_a_county_archive_checks_with_sha256sum_and_carries_the_countys_files(cli: Any, db_url: str,
                                                                               tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_units import ROWS_RESTART, county_csv

    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    assert office("import", str(county_csv(tmp_path))).code == 0
    dropped = "\n".join(line for line in ROWS_RESTART.splitlines() if "行政执法案卷" not in line)
    (tmp_path / "w2").mkdir()
    assert office("import", str(county_csv(tmp_path / "w2", dropped))).code == 0  # 交通's row 2 now off the sheet
    archive = tmp_path / "全部档案.zip"
    assert office("archive", "-o", str(archive)).code == 0
    out = tmp_path / "extracted"
    assert subprocess.run(["unzip", "-qq", str(archive), "-d", str(out)], check=False).returncode == 0
    checked = subprocess.run(["sha256sum", "-c", "--strict", "清单.sha256"], cwd=out, capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == len(list(p for p in out.rglob("*") if p.is_file())) - 2
    assert {p.name for p in (out / "全区").iterdir()} == {"巡察整改情况通报.docx", "全部整改台账及汇总.xlsx",
                                                         "汇总看板.html"}
    trails = sorted(p.name for p in out.rglob("问题记录/*.txt") if "交通" in str(p))
    assert trails == ["原2.txt", "问题1.txt"], trails
    listing = (out / "清单.txt").read_text(encoding="utf-8-sig")
    assert "原2 全过程记录" in listing and "全区巡察整改情况通报" in listing
    (out / "全区" / "汇总看板.html").write_text("changed", encoding="utf-8")
    tampered = subprocess.run(["sha256sum", "-c", "--quiet", "清单.sha256"], cwd=out, capture_output=True,
                              text=True, check=False)
    assert tampered.returncode != 0 and "汇总看板.html" in tampered.stdout
