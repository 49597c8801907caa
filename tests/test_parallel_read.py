"""A large table read by several processes (importers.parallel over fanout) is read exactly as one
process reads it: the same items in the same order, the same aspects, the same notes,
and every problem in the order of the rows; a helper that cannot start or that dies
leaves its chunks to the calling process."""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from rectify_core import fanout
from rectify_core.errors import ConfigError, InputError
from rectify_core.importers import ledger, parallel, read_workbook
from rectify_core.importers.parsed import ParsedLedger

HEADER = ["序号", "被巡察单位", "问题类别", "问题描述", "整改措施", "责任领导", "责任部门", "责任人", "整改时限",
          "完成情况", "备注"]
STATUSES = ["已完成", "正在整改", "未完成", "阶段性完成"]


def _write(path: Path, rows: int, problems: bool) -> Path:
    """Two units' ledgers in one table, with rows across naming categories and aspects
    in a column, and, when asked, rows no reader can take."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["区委巡察组2026年11月20日反馈问题整改台账"] + [""] * (len(HEADER) - 1))
        out.writerow(HEADER)
        for n in range(1, rows + 1):
            unit = "区财政局党组" if n <= rows // 2 else "区教育局党组"
            if n % 40 == 2:
                across = f"{'一二三四五六七八九十'[n // 40 % 10]}、第{n // 40}方面存在的问题"
                out.writerow([across] + [""] * (len(HEADER) - 1))
            no: Any = n
            status = STATUSES[n % 4]
            title = f"第{n}项问题：制度执行不到位"
            if problems and n % 97 == 0:
                no = n - 1  # a number twice
            if problems and n % 89 == 0:
                status = "看情况"  # no such status
            if problems and n % 83 == 0:
                title = ""
            if problems and n % 101 == 0:
                no = "第几"
            deadline = f"{n % 12 + 1}月{n % 27 + 1}日" if n % 3 else f"2026年{n % 12 + 1}月{n % 27 + 1}日"
            out.writerow([no, unit, "" if n % 5 else f"类别{n % 3}", title,
                          f"一是{n % 12 + 1}月完成第一步。二是2026年{n % 12 + 1}月完成第二步。",
                          "胡志云（党组副书记）", "办公室", f"王{n % 17}", deadline, status, f"备注{n}"])
    return path


def _read(path: Path) -> list[ParsedLedger] | list[tuple[str, str]]:
    """The ledgers read, or the problems said (where, what) when there are any."""
    try:
        return read_workbook(path).ledgers
    except InputError as exc:
        return [(p.where, p.message) for p in exc.problems]


def _alone(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[ParsedLedger] | list[tuple[str, str]]:
    """The file read by this process alone: what the others must equal."""
    monkeypatch.setenv(parallel.ENV, "1")
    return _read(path)


def _helper_is(script: Path, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper processes run `source` (written to `script`); one helper beside this process."""
    script.write_text(source, encoding="utf-8")
    monkeypatch.setattr(fanout, "_command", lambda: [sys.executable, str(script)])
    monkeypatch.setenv(parallel.ENV, "2")


@pytest.fixture
def by_chunks(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Small tables shared out in small chunks; who read how many chunks."""
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
    monkeypatch.setattr(ledger, "_CHUNK", 7)
    readers: dict[str, int] = {}
    keep, init = fanout._Shared.keep, fanout._Shared.__init__
    helped = threading.Event()
    latest: list[Any] = [None]  # the read under test: a thread an earlier test left behind is not counted

    def made(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        latest[0] = self

    def counted(self: Any, i: int, result: Any) -> None:
        if self is not latest[0]:
            keep(self, i, result)
            return
        name = threading.current_thread().name
        readers[name] = readers.get(name, 0) + 1
        if name != "MainThread":
            helped.set()
        elif readers.get("wait for a helper"):
            helped.wait(60)  # a small table is read here before a helper has started, else
        keep(self, i, result)

    monkeypatch.setattr(fanout._Shared, "keep", counted)
    monkeypatch.setattr(fanout._Shared, "__init__", made)
    return readers


@pytest.mark.parametrize("problems", [False, True], ids=["clean", "with problems"])
def test_a_table_read_by_several_processes_is_read_as_by_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_chunks: dict[str, int], problems: bool) -> None:
    path = _write(tmp_path / "台账.csv", 400, problems)
    alone = _alone(path, monkeypatch)
    assert not by_chunks.keys() - {"MainThread"}
    by_chunks.clear()
    by_chunks["wait for a helper"] = 1
    monkeypatch.setenv(parallel.ENV, "3")
    shared = _read(path)
    assert by_chunks.keys() - {"MainThread", "wait for a helper"}, "no helper read a chunk"
    assert shared == alone
    if problems:
        said = [p for p in alone if isinstance(p, tuple)]
        assert len(said) == len(alone) > 10 and {"无法识别的序号“第几”", "缺少问题内容"} <= {m for _, m in said}
        rows = [int(m[1]) for where, _ in said if (m := re.match(r"第(\d+)行", where))]
        assert len(rows) == len(said)
        assert rows == sorted(rows)  # said in the order of the rows, whichever pass found them
    else:
        ledgers = [p for p in alone if isinstance(p, ParsedLedger)]
        assert [p.unit for p in ledgers] == ["区财政局党组", "区教育局党组"] and len(ledgers) == len(alone)
        assert sum(len(p.items) for p in ledgers) == 400
        assert all(len(p.aspects) > 3 for p in ledgers)


def test_a_helper_that_cannot_start_leaves_its_chunks_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_chunks: dict[str, int]) -> None:
    path = _write(tmp_path / "台账.csv", 200, False)
    alone = _alone(path, monkeypatch)
    monkeypatch.setenv(parallel.ENV, "2")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert _read(path) == alone


def test_a_helper_that_dies_leaves_its_chunks_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_chunks: dict[str, int]) -> None:
    path = _write(tmp_path / "台账.csv", 200, True)
    alone = _alone(path, monkeypatch)
    # a "helper" that reads its first chunk and exits without an answer
    _helper_is(tmp_path / "dying.py", "import sys\nsys.stdin.buffer.read(64)\nsys.exit(3)\n", monkeypatch)
    assert _read(path) == alone
    assert by_chunks.keys() == {"MainThread"}


def test_a_helper_that_dies_midway_leaves_the_chunks_it_had_here(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by_chunks: dict[str, int]) -> None:
    path = _write(tmp_path / "台账.csv", 300, True)
    alone = _alone(path, monkeypatch)
    # a helper that reads one chunk, gives it back, and exits holding the next one
    _helper_is(tmp_path / "once.py", "import sys\n"
               "from rectify_core import fanout\n"
               "read, args = fanout._receive(sys.stdin.buffer)\n"
               "fanout._send(sys.stdout.buffer, read(fanout._receive(sys.stdin.buffer), *args))\n"
               "sys.exit(3)\n", monkeypatch)
    by_chunks.clear()
    by_chunks["wait for a helper"] = 1
    assert _read(path) == alone
    assert by_chunks.get("rectify-read-0") == 1


@pytest.mark.parametrize("value", ["0", "两个", "-2"])
def test_a_bad_number_of_processes_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(parallel.ENV, value)
    with pytest.raises(ConfigError, match=parallel.ENV):
        parallel.processes()


def test_a_bad_setting_is_said_by_the_command_whatever_the_size(tmp_path: Path) -> None:
    """A one-row file still says what is wrong with the setting, in words, before anything
    is written."""
    path = tmp_path / "台账.csv"
    path.write_text("序号,问题描述,整改时限,完成情况\n1,票据与附件金额不符,2026年12月31日,未完成\n", encoding="utf-8")
    database = tmp_path / "r.db"
    env = {**os.environ, "RECTIFY_DATABASE_URL": f"sqlite:///{database}", parallel.ENV: "两个"}
    proc = subprocess.run([sys.executable, "-m", "rectify_core", "import", str(path)], capture_output=True,
                          text=True, env=env, check=False)
    assert proc.returncode == 1
    assert parallel.ENV in proc.stderr and "应为正整数" in proc.stderr and "Traceback" not in proc.stderr
    if database.exists():  # migrated perhaps, but nothing imported
        assert sqlite3.connect(database).execute("SELECT count(*) FROM sqlite_master WHERE name = 'items'"
                                                 ).fetchone()[0] == 0 or sqlite3.connect(database).execute(
            "SELECT count(*) FROM items").fetchone()[0] == 0


@pytest.mark.parametrize(("written", "allowed"), [("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1),
                                                  ("max 100000", parallel.MOST), (None, parallel.MOST)])
def test_a_containers_share_of_the_processors_bounds_the_helpers(tmp_path: Path, written: str | None,
                                                                  allowed: int) -> None:
    cpu_max = tmp_path / "cpu.max"
    if written is not None:
        cpu_max.write_text(written + "\n", encoding="ascii")
    assert fanout._quota(cpu_max, parallel.MOST) == allowed
