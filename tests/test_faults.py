"""Faults as offices meet them: two imports of one round at once, a server killed in the
middle of an upload. Real processes, real databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
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


def test_a_server_killed_mid_upload_leaves_no_file_and_no_row(cli: Any, sqlite_url: str, engine: Engine,
                                                               tmp_path: Path) -> None:
    from rectify_core.delivery import links

    secret = "fault-test-secret-0123456789abcdef"
    ledger = tmp_path / "整改台账.csv"
    ledger.write_text(LEDGER, encoding="utf-8")
    assert cli(["--db", sqlite_url, "import", "--unit", "区交通运输局", str(ledger)]).code == 0
    with db.transaction(engine) as s:
        item_id = s.scalar(select(Item.id).where(Item.no == 1))
    env = {**os.environ, "RECTIFY_WEB_SECRET": secret}
    store, port = tmp_path / "uploads", free_port()
    proc = _start_web(sqlite_url, store, port, env)
    token = links.issue(secret.encode(), "区交通运输局", "周敏", __import__("datetime").datetime.now(
        __import__("datetime").UTC))
    # a progress report with a 5 MB file, of which only the first megabyte ever arrives
    boundary = "rectifyboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n已清查\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"报告.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall((f"POST /p/{token}/items/{item_id}/progress HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {5 * 2**20}\r\n\r\n").encode() + head + b"0" * 2**20)
        time.sleep(0.5)                                                # the server is reading the body
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    # a kill while a received file was being copied into the store leaves a part named for
    # its dead writer: the next start sweeps it (a live writer's part is left alone)
    dead = subprocess.Popen(["true"])
    dead.wait()
    store.mkdir(exist_ok=True)
    (store / f".part-{dead.pid}-abc123").write_bytes(b"%PDF-1.4 half")
    (store / f".part-{os.getpid()}-def456").write_bytes(b"%PDF-1.4 being written")
    proc = _start_web(sqlite_url, store, port, env)
    try:
        left = sorted(p.name for p in store.rglob("*") if p.is_file())
        assert left == [f".part-{os.getpid()}-def456"]                # nothing of the killed upload
        with db.transaction(engine) as s:
            assert s.scalar(select(func.count()).select_from(Upload)) == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
