"""A restore killed with SIGKILL (the process and the pg_restore it started) at any moment
leaves either the live data or the backup's, whole: never a mix, never an empty database.
On PostgreSQL the live schema a killed restore left aside is put back by the next program
that opens the database; on SQLite the switch is one transaction of the file's pages, and
the scratch a killed restore left is swept by the next."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from rectify_core.ledger import backup, db
from rectify_flows.cli import DEMO_LEDGER
from tests.test_backup import Office, _ledger_with_evidence, snapshot


def _restoring(target: Office, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RECTIFY_FILES_DIR": str(target.files)}
    return subprocess.Popen([sys.executable, "-m", "flows", "--db", target.url, "restore", str(out), "--force"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _aside(url: str) -> bool:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"),
                                     {"s": db.BEFORE_RESTORE}).scalar())
    finally:
        engine.dispose()


def _restoring_now(pid: int) -> bool:
    """Whether the process `pid` has a pg_restore child running."""
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    if b"pg_restore" in Path(f"/proc/{child}/cmdline").read_bytes():
                        return True
    return False


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # (it may have finished first)
        os.killpg(proc.pid, signal.SIGKILL)  # the process and any pg_restore it started
    proc.wait()


def _kill_while_aside(proc: subprocess.Popen[bytes], target: Office, out: Path, live: Any) -> bool:
    """Kill the restore while the live schema waits aside; a restore that finished before
    the moment was seen is undone and tried again, a few times."""
    for _ in range(6):
        # watched without a connection of our own (the restore refuses a database in use):
        # the live schema waits aside exactly while the pg_restore it started runs
        deadline = time.monotonic() + 30
        while not _restoring_now(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        if _restoring_now(proc.pid):
            _kill(proc)
            assert _aside(target.url)                                   # (what the kill left: the live schema aside)
            return True
        _kill(proc)
        if snapshot(target.url) != live:  # it went through: the live data back, and again
            undo = sorted((target.files.parent / "backups").glob("rectify-before-restore-*.zip"))[-1]
            assert target("restore", str(undo), "--force").code == 0
        proc = _restoring(target, out)
    _kill(proc)
    return False


def test_a_restore_killed_at_any_moment_leaves_one_whole_database(cli: Any, db_url: str, spare: Callable[[], str],
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, db_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    out = tmp_path / "备份.zip"
    assert office("backup", "-o", str(out)).code == 0
    restored = snapshot(db_url)
    target = Office(cli, spare(), tmp_path / "target", monkeypatch)
    assert target("import", str(DEMO_LEDGER)).code == 0
    assert target("progress", "3", "--text", "目标库自己的进展", "--by", "李强").code == 0
    live = snapshot(target.url)
    assert live != restored
    caught_aside = not db_url.startswith("postgresql")
    for delay in (0.0, 0.05, 0.15, 0.3, 0.5, 0.8):
        proc = _restoring(target, out)
        if not caught_aside and delay == 0.0:
            caught_aside = _kill_while_aside(proc, target, out, live)  # the moment the live schema is aside
        else:
            time.sleep(delay)
        _kill(proc)
        assert target("items").code == 0                               # the next program opens it whole
        now = snapshot(target.url)
        assert now in (live, restored), delay
        if now == restored:                                             # put the live data back to try again
            undo = sorted((target.files.parent / "backups").glob("rectify-before-restore-*.zip"))[-1]
            assert target("restore", str(undo), "--force").code == 0
            assert snapshot(target.url) == live
    assert caught_aside                                                 # the dangerous moment was really tried
    assert target("restore", str(out), "--force").code == 0
    assert snapshot(target.url) == restored
    path = db.sqlite_path(target.url)
    if path is not None:
        assert not list(path.parent.glob(".rectify-restore-*"))        # scratch of the killed ones swept


def test_a_backup_killed_midway_leaves_no_half_file_and_its_scratch_is_swept(cli: Any, sqlite_url: str,
                                                                              tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(cli, sqlite_url, tmp_path / "files", monkeypatch)
    _ledger_with_evidence(office, tmp_path)
    folder = tmp_path / "backups"
    out = folder / "备份.zip"
    env = {**os.environ, "RECTIFY_FILES_DIR": str(office.files)}
    left_behind = 0
    for _ in range(30):
        proc = subprocess.Popen([sys.executable, "-m", "flows", "--db", sqlite_url, "backup", "-o", str(out)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while proc.poll() is None and not list(folder.glob(".rectify-backup-*/*")):
            time.sleep(0.002)
        _kill(proc)
        if out.exists():                                                # it finished first: whole, and checked
            with backup.opened(out) as (_, manifest):
                assert manifest["items"] > 0
            out.unlink()
        left_behind += bool(list(folder.glob(".rectify-backup-*")))
        if left_behind >= 3:
            break
    assert left_behind                                                  # a kill really left scratch behind
    assert office("backup", "-o", str(out)).code == 0
    assert not list(folder.glob(".rectify-backup-*"))                   # and the next backup swept it


def test_a_full_disk_during_a_restore_says_so_and_changes_nothing(cli: Any, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_hostile import _small_disk

    source = Office(cli, f"sqlite:///{tmp_path / 'source.db'}", tmp_path / "files", monkeypatch)
    assert source("import", str(DEMO_LEDGER)).code == 0
    proof = tmp_path / "扫描件.pdf"
    proof.write_bytes(b"%PDF-1.4\n" + os.urandom(3 << 20))           # a scan bigger than the disk's room
    assert source("close", "1", "--evidence", str(proof), "--by", "周敏", "--verified-by", "王敏").code == 0
    out = tmp_path / "备份.zip"
    assert source("backup", "-o", str(out)).code == 0
    with _small_disk(tmp_path / "disk", "2m") as disk:
        target = Office(cli, f"sqlite:///{disk / 'rectify.db'}", disk / "files", monkeypatch)
        assert target("import", str(DEMO_LEDGER)).code == 0
        assert target("progress", "3", "--text", "目标库自己的进展", "--by", "李强").code == 0
        live = snapshot(target.url)
        kept = sorted(p.name for p in disk.rglob("*"))
        full = target("restore", str(out), "--force")
        assert full.code != 0 and "磁盘已满" in full.err and "Traceback" not in full.err + full.out, full.err
        assert snapshot(target.url) == live
        assert not list(disk.glob(".rectify-restore-*"))
        assert not [p for p in (disk / "files").rglob("*") if p.is_file() and p.stat().st_size > 1 << 20]
        assert set(kept) <= {p.name for p in disk.rglob("*")}
