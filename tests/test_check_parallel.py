"""`check --json` shared with helper processes (runs.check over fanout.stream) writes what one
process writes: the same text, byte for byte, array or lines, every unit or one, on a first
day and on a later day with history, on SQLite and PostgreSQL. A helper that cannot start,
or dies midway, leaves its chunks to the calling process; a reader that stops early leaves
no helper behind."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pickle
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from rectify_core import fanout
from rectify_core.config.settings import Settings, load_settings
from rectify_core.importers import read_workbook
from rectify_core.ledger import db
from rectify_core.ledger.store import save_ledger
from rectify_core.runs import check, daily
from rectify_core.runs.views import plan_json
from tests.deliveries import NOW
from tests.test_parallel_read import _write

TODAY = NOW.date()
LATER = TODAY + dt.timedelta(days=40)


def _enqueue(engine: Engine, settings: Settings) -> None:
    """TODAY's notices in the outbox: the history a later day plans with."""
    assert daily.plan_and_enqueue(engine, settings, TODAY, NOW).inserted > 20


@pytest.fixture
def ledger(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    """Two units' ledgers of 300 rows in four statuses."""
    engine = db.make_engine(db_url)
    with db.transaction(engine) as s:
        for parsed in read_workbook(_write(tmp_path / "台账.csv", 300, False)).ledgers:
            save_ledger(parsed, NOW, session=s)
    yield engine, load_settings(None)
    engine.dispose()


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Ledgers shared out 7 items a part; how many parts this process did itself."""
    monkeypatch.setattr(check, "CHUNK", 7)
    here = {"parts": 0}
    keep = fanout._Flow._keep

    def counted(self: Any, i: int, result: Any) -> None:
        here["parts"] += 1
        keep(self, i, result)

    monkeypatch.setattr(fanout._Flow, "_keep", counted)
    return here


def _later_alone(ledger: tuple[Engine, Settings]) -> tuple[Engine, Settings, str]:
    """The ledger with TODAY's notices enqueued, and what one process writes of LATER."""
    engine, settings = ledger
    _enqueue(engine, settings)
    return engine, settings, _text(engine, settings, LATER, 1)


def _text(engine: Engine, settings: Settings, day: dt.date, processes: int, **kw: Any) -> str:
    out = io.StringIO()
    check.write_json(engine, settings, day, out, processes=processes, **kw)
    return out.getvalue()


@pytest.mark.parametrize("day", [TODAY, LATER], ids=["first day", "later day"])
def test_several_processes_write_what_one_writes(ledger: tuple[Engine, Settings], small_parts: dict[str, int],
                                                 day: dt.date) -> None:
    engine, settings = ledger
    if day == LATER:
        _enqueue(engine, settings)
    alone = _text(engine, settings, day, 1)
    rows = json.loads(alone)
    assert rows == [plan_json(p) for p in daily.iter_item_plans(engine, settings, day)]  # the plans, in order
    assert len(rows) > 100 and len({r["unit"] for r in rows}) == 2 and any(r["notify"] for r in rows)
    small_parts["parts"] = 0
    assert _text(engine, settings, day, 3) == alone
    parts = -(-len(rows) // check.CHUNK)
    assert small_parts["parts"] < parts, "no helper planned a part"
    lines = _text(engine, settings, day, 3, lines=True)
    assert lines == _text(engine, settings, day, 1, lines=True)
    assert [json.loads(line) for line in lines.splitlines()] == rows
    unit = rows[-1]["unit"]
    assert _text(engine, settings, day, 2, unit=unit) == _text(engine, settings, day, 1, unit=unit)
    assert json.loads(_text(engine, settings, day, 2, unit=unit)) == [r for r in rows if r["unit"] == unit]


def test_a_later_day_is_planned_with_the_history(ledger: tuple[Engine, Settings],
                                                small_parts: dict[str, int]) -> None:
    """Each part carries its items' history: planned again the same day, with what that
    day enqueued, nobody is told the same step twice."""
    engine, settings = ledger
    first = json.loads(_text(engine, settings, TODAY, 1))
    _enqueue(engine, settings)
    again = json.loads(_text(engine, settings, TODAY, 3))
    told = [r for r in first if r["notify"]]
    assert told and len(again) == len(first)
    assert not any(r["notify"] for r in again)  # everyone owed today is in the outbox already


def test_a_helper_that_cannot_start_leaves_its_parts_here(ledger: tuple[Engine, Settings],
                                                        small_parts: dict[str, int], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    engine, settings, alone = _later_alone(ledger)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert _text(engine, settings, LATER, 3) == alone
    assert small_parts["parts"] == -(-len(json.loads(alone)) // check.CHUNK)


def test_a_helper_that_dies_midway_leaves_the_parts_it_had_here(ledger: tuple[Engine, Settings],
                                                               small_parts: dict[str, int], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    engine, settings, alone = _later_alone(ledger)
    script = tmp_path / "once.py"  # plans one part, gives it back, and exits holding the next
    script.write_text("import sys\n"
                      "from rectify_core import fanout\n"
                      "do, args = fanout._receive(sys.stdin.buffer)\n"
                      "fanout._send(sys.stdout.buffer, do(fanout._receive(sys.stdin.buffer), *args))\n"
                      "fanout._receive(sys.stdin.buffer)\n"
                      "sys.exit(3)\n", encoding="utf-8")
    monkeypatch.setattr(fanout, "_command", lambda: [sys.executable, str(script)])
    assert _text(engine, settings, LATER, 2) == alone
    assert small_parts["parts"] == -(-len(json.loads(alone)) // check.CHUNK) - 1  # the helper did one


class _Closed(io.StringIO):
    """An output whose reader went away after the first part (a pipe to `head`)."""

    def write(self, text: str) -> int:
        if self.tell():
            raise BrokenPipeError
        return super().write(text)


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


def test_a_reader_that_stops_early_leaves_no_helper_and_the_database_as_it_was(
        ledger: tuple[Engine, Settings], small_parts: dict[str, int]) -> None:
    engine, settings = ledger
    _enqueue(engine, settings)
    before = _children()
    with pytest.raises(BrokenPipeError) as stopped:  # kept: its frames hold what write_json made
        check.write_json(engine, settings, LATER, _Closed(), processes=3)
    assert _children() == before
    assert stopped.value
    assert not [t for t in threading.enumerate() if t.name.startswith("rectify-check")]
    assert json.loads(_text(engine, settings, LATER, 1))  # the connection went back fit for use


def test_a_terminal_that_does_not_write_utf8_gets_its_own_encoding(ledger: tuple[Engine, Settings],
                                                                  small_parts: dict[str, int]) -> None:
    """Text goes to the bytes beneath standard output only when they are UTF-8; a GB18030
    console gets GB18030, as any text written to it."""
    engine, settings, alone = _later_alone(ledger)
    for encoding in ("utf-8", "gb18030"):
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding=encoding, newline="\n")
        out.write("前言\n")
        check.write_json(engine, settings, LATER, out, processes=2)
        out.flush()
        assert raw.getvalue().decode(encoding) == "前言\n" + alone


def test_stream_gives_results_in_order_and_a_failing_part_fails_here() -> None:
    parts = [str(n) * (n % 5 + 1) for n in range(60)]
    assert list(fanout.stream(len, parts, 2)) == [len(p) for p in parts]
    assert list(fanout.stream(len, iter(parts), 2, early=True)) == [len(p) for p in parts]
    assert list(fanout.stream(len, [], 2, early=True)) == []
    assert list(fanout.stream(len, ["abc"], 2)) == [3]
    with pytest.raises(TypeError):  # len(7): raised in a helper, met again here
        list(fanout.stream(len, ["a", "bb", 7, "ccc"] * 5, 2))
    odd = ["a", memoryview(b"abc"), "bb", "ccc"] * 5  # a memoryview cannot travel: done here
    assert list(fanout.stream(len, odd, 2, early=True)) == [len(p) for p in odd]


def test_a_plain_part_travels_by_marshal_and_anything_else_by_pickle() -> None:
    rows = [(1, "问题一", None, 2.5, b"x"), (2, "问题二", "2026-11-30", 0.0, b"")]
    data = pickle.dumps(fanout.Plain(rows))
    assert b"_unmarshal" in data
    assert pickle.loads(data).value == rows
    dated = [(1, dt.date(2026, 11, 30))]
    data = pickle.dumps(fanout.Plain(dated))
    assert b"_unmarshal" not in data and pickle.loads(data).value == dated


def test_postgresql_dates_travel_as_text(ledger: tuple[Engine, Settings], small_parts: dict[str, int]) -> None:
    """Rows bound for helpers carry PostgreSQL's dates as ISO text (plain values, which go
    by marshal), made dates again where they are planned: the same obligations."""
    from rectify_core.ledger import obligations

    engine, settings = ledger
    _enqueue(engine, settings)  # overdue items: their overdue_since set
    with db.transaction(engine) as s:
        chunks, form = obligations.active_item_rows(session=s, chunk=400, travel=True)
        rows = next(chunks)
        chunks.close()
        whole = obligations.active_items(session=s)
    assert list(form.obligations(rows)) == whole and any(o.overdue_since for o in whole)
    if engine.dialect.name == "postgresql":
        dates = [v for row in rows for v in (row[8], row[9], row[10], row[13]) if v is not None]  # the date columns
        assert form.iso_dates and dates and all(isinstance(v, str) for v in dates)
        assert b"_unmarshal" in pickle.dumps(fanout.Plain(rows))
