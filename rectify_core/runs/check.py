"""`check --json`: each open or ongoing item's plan as JSON, written as it is planned, a
large ledger's chunks planned and encoded by helper processes beside this one.

This process reads the ledger (one SELECT and the history, in one transaction: every chunk
from the same snapshot) and hands out chunks of the driver's rows, each with its items'
history. Whichever process takes a chunk converts, plans and encodes it; the text comes
back and is written in ledger order, the same text one process alone writes. One process
plans a million items in about three times the database's own read; with a helper on a
second processor the planning runs beside the reading."""

from __future__ import annotations

import codecs
import datetime as dt
import os
from collections.abc import Callable, Iterable
from typing import IO, Any

from sqlalchemy import Engine

from rectify_core import fanout
from rectify_core.bulk import gc_paused
from rectify_core.config.calendar import WorkCalendar
from rectify_core.config.people import Directory
from rectify_core.config.rules import Ladder, Rules
from rectify_core.config.settings import Settings
from rectify_core.deadlines.plan import Planner
from rectify_core.deadlines.types import Sent
from rectify_core.ledger import db, obligations
from rectify_core.runs.daily import Planning, planning
from rectify_core.runs.views import PlanEncoder

CHUNK = 20_000  # items a part: a helper's pipe carries a few megabytes each way
MOST = 4  # processes: past this, this one is busy enough reading and writing
# items the ledger has had (its highest id): below this, a helper's start (about a second of
# a processor: the interpreter, SQLAlchemy, the calendar) costs more than it saves
PARALLEL_FROM = 200_000

Rows = list[tuple[Any, ...]]
History = dict[str, list[Sent]]


class ChunkWork:
    """What planning and encoding a chunk needs, sent once to each helper. The planner and
    the encoder are made where the work is done, once, and kept for its next chunks (their
    memos carry over); they do not travel."""

    def __init__(self, today: dt.date, rules: Rules, calendar: WorkCalendar, ladders: dict[str, Ladder],
                 directory: Directory, form: obligations.RowForm, lines: bool) -> None:
        self.today, self.rules, self.calendar, self.ladders = today, rules, calendar, ladders
        self.directory, self.form, self.lines = directory, form, lines
        self._made: tuple[Planner, PlanEncoder] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_made": None}

    def tools(self) -> tuple[Planner, PlanEncoder]:
        if self._made is None:
            self._made = (Planner(self.today, self.rules, self.ladders, self.calendar, self.directory),
                          PlanEncoder())
        return self._made


def encode_chunk(part: tuple[fanout.Plain, History], work: ChunkWork) -> tuple[bytes, frozenset[int]]:
    """A chunk of rows as JSON text in UTF-8 (its plans joined as the output joins them),
    with the years whose calendar its plans' dates had to estimate."""
    rows, history = part
    planner, encoder = work.tools()
    with gc_paused():
        plans = Planning(work.directory, work.ladders, history, planner).plans(work.form.obligations(rows.value))
        text = ("\n" if work.lines else ",\n  ").join(map(encoder.encode, plans))
    return text.encode(), frozenset(encoder.estimated)


def write_json(engine: Engine, settings: Settings, today: dt.date, out: IO[str], *, unit: str | None = None,
               lines: bool = False, processes: int | None = None) -> set[int]:
    """Every open or ongoing item's plan (of one unit, if given) written to `out` as a JSON
    array, or JSON Lines, in ledger order, a chunk at a time: memory holds a few chunks, not
    the ledger. `processes` share the planning (default: one a processor, up to MOST, for a
    ledger that has had PARALLEL_FROM items or more; else this one alone). Returns the years
    whose calendar was estimated."""
    with gc_paused(), db.transaction(engine) as session:
        if processes is None:
            processes = fanout.processors(MOST) if obligations.items_ever(session=session) >= PARALLEL_FROM else 1
        day = planning(settings, today, session=session)
        chunks, form = obligations.active_item_rows(session=session, unit=unit, chunk=CHUNK,  # read only, from here
                                             travel=processes > 1)
        work = ChunkWork(today, settings.rules, settings.calendar, day.ladders, day.directory, form, lines)
        parts = ((fanout.Plain(rows), _history_of(rows, day.history)) for rows in chunks)
        # the helpers start at once: while this process runs the SELECT
        texts = fanout.stream(encode_chunk, parts, processes - 1, work, name="rectify-check", early=True)
        try:
            return _write(texts, out, lines)
        finally:  # also when writing fails (a closed pipe): the helpers end, then the statement
            texts.close()
            chunks.close()


def _history_of(rows: Rows, history: History) -> History:
    """The history of a chunk's items (each row begins with its item's id); none on a first day."""
    if not history:
        return {}
    return {key: sent for row in rows if (sent := history.get(key := f"item:{row[0]}"))}


def _write(texts: Iterable[tuple[bytes, frozenset[int]]], out: IO[str], lines: bool) -> set[int]:
    estimated: set[int] = set()
    write = _writer(out)
    written = False
    for text, years in texts:
        estimated |= years
        if lines:
            write(text + b"\n")
        else:
            write((b",\n  " if written else b"[\n  ") + text)
        written = True
    if not lines:
        write(b"\n]\n" if written else b"[]\n")
    return estimated


def _writer(out: IO[str]) -> Callable[[bytes], object]:
    """How UTF-8 text is written to `out`: straight to the bytes beneath it when it writes
    UTF-8 as is (standard output, a file), else decoded."""
    binary = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if binary is None or not encoding or codecs.lookup(encoding).name != "utf-8" or os.linesep != "\n":
        return lambda text: out.write(text.decode())
    out.flush()  # what was written as text goes first
    write: Callable[[bytes], object] = binary.write
    return write
