"""Faults as offices meet them: two imports of one round at once, a server killed in the
middle of an upload. Real processes, real databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from rectify_core.ledger import db
from rectify_core.ledger.models import ImportBatch, Item, Upload
from tests.fixtures.databases import ROOT, free_port

BIN = Path(sys.executable).parent
LEDGER = ("序号,问题,整改措施,责任领导,责任人,整改时限,完成情况\n"
          + "".join(f"{n},第{n}项整改问题内容不同{n * 7}号,一是清查,胡志云,周敏,2027年3月31日,未完成\n"
                    for n in range(1, 4001)))


def test_two_imports_of_one_round_at_once_never_duplicate(db_url: str, engine: Engine, tmp_path: Path) -> None:
    ledger = tmp_path / "整改台账.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    cmd = [str(BIN / "rectify"), "--db", db_url, "import", "--unit", "区交通运输局", str(ledger)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    assert all(code == 0 for code, _, _ in results), results     # the later ones wait, then find the round
    assert sum("无变化" in out for _, out, _ in results) == 2
    with db.transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 4000
        assert s.scalar(select(func.count()).select_from(ImportBatch)) == 1


def _await(condition: Callable[[], bool], failure: str, seconds: float = 30) -> None:
    """Until `condition` holds (checked every 10 ms), or fail with `failure`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.01)


def _spooled(pid: int, folder: Path) -> int:
    """The most a process holds open in `folder` (a deleted, unnamed temporary file included)."""
    most = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(folder)):
                most = max(most, fd.stat().st_size)
        except OSError:
            continue  # closed meanwhile
    return most


def _start_web(url: str, store: Path, port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([str(BIN / "rectify"), "--db", url, "web", "--port", str(port), "--data-dir", str(store)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for _ in range(400):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.communicate()) from None
            time.sleep(0.05)
    raise AssertionError("rectify web did not start")


def test_a_server_killed_mid_upload_leaves_no_file_and_no_row(cli: Any, db_url: str, engine: Engine,
                                                               tmp_path: Path) -> None:
    from rectify_core.delivery import links

    secret = "fault-test-secret-0123456789abcdef"
    ledger = tmp_path / "整改台账.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    assert cli(["--db", db_url, "import", "--unit", "区交通运输局", str(ledger)]).code == 0
    with db.transaction(engine) as s:
        item_id = s.scalar(select(Item.id).where(Item.no == 1))
    # the server spools a received file of over a megabyte to an unnamed file in its temporary
    # folder: seeing it grow there is seeing the server mid-upload
    spool = tmp_path / "server-tmp"
    spool.mkdir()
    env = {**os.environ, "RECTIFY_WEB_SECRET": secret, "TMPDIR": str(spool)}
    store, port = tmp_path / "uploads", free_port()
    proc = _start_web(db_url, store, port, env)
    token = links.issue(secret.encode(), "区交通运输局", "周敏", __import__("datetime").datetime.now(
        __import__("datetime").UTC))
    # a progress report with a 5 MB file, of which only the first two megabytes ever arrive
    boundary = "rectifyboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n已清查\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"报告.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall((f"POST /p/{token}/items/{item_id}/progress HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {5 * 2**20}\r\n\r\n").encode() + head + b"0" * 2**21)
        _await(lambda: _spooled(proc.pid, spool) >= 2**20, "the server never started reading the upload")
        assert proc.poll() is None and not any(store.rglob("*.pdf"))  # mid-upload: nothing stored yet
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    # a kill while a received file was being copied into the store leaves a part named for
    # its dead writer: the next start sweeps it (a live writer's part is left alone)
    dead = subprocess.Popen(["true"])
    dead.wait()
    store.mkdir(exist_ok=True)
    (store / f".part-{dead.pid}-abc123").write_bytes(b"%PDF-1.4 half")
    (store / f".part-{os.getpid()}-def456").write_bytes(b"%PDF-1.4 being written")
    proc = _start_web(db_url, store, port, env)
    try:
        left = sorted(p.name for p in store.rglob("*") if p.is_file())
        assert left == [f".part-{os.getpid()}-def456"]                # nothing of the killed upload
        with db.transaction(engine) as s:
            assert s.scalar(select(func.count()).select_from(Upload)) == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_county_import_killed_at_any_moment_is_all_or_nothing(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """A county workbook of 40 units, killed with SIGKILL at several moments: the database
    holds either none of it or all of it, never some units; the next import completes it."""
    from tests.test_units import COUNTY

    rows = "\n".join(f"{n},区第{u:02d}局党组,第{u}局第{n}项整改问题内容{u * 31 + n},胡志云,周敏,2027年3月31日,未完成,"
                     for u in range(40) for n in range(1, 101))
    county = tmp_path / "全区台账.csv"
    county.write_text(COUNTY.format(rows=rows), encoding="utf-8")
    cmd = [str(BIN / "rectify"), "--db", db_url, "import", str(county)]

    def held() -> tuple[int, int]:
        with db.transaction(engine) as s:
            return (int(s.scalar(select(func.count()).select_from(Item)) or 0),
                    int(s.scalar(select(func.count()).select_from(ImportBatch)) or 0))

    outcomes = set()
    for delay in (0.3, 0.8, 1.3, 1.8, 2.5):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        now = held()
        assert now in ((0, 0), (4000, 40)), (delay, now)               # none of it, or every unit whole
        outcomes.add(now)
        if now != (0, 0):
            break
    assert (0, 0) in outcomes                                            # a kill really landed mid-import
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert held()[0] == 4000
