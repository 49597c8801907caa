"""Bulk work, in one place: the cyclic garbage collector paused while a run builds
objects by the hundred thousand, and the bulk insert that skips rows already there.

The collector: each allocation burst makes the collector walk every live object again and again; on a
100,000-item day that was 0.45 s of a 1.2 s plan. Reference counting still frees what
is dropped; cycles made meanwhile are collected once the collector is back on.

The inserts take the fastest path each database offers: the SQLite driver's own
executemany; on PostgreSQL, COPY (straight into the table where no row can exist yet,
else through a temporary table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING), or
for a few rows a pipelined executemany. Values are converted as SQLAlchemy would send
them, a repeated value once; each insert that skips existing rows counts exactly what
it inserted.
"""

from __future__ import annotations

import gc
import itertools
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import JSON
from sqlalchemy.orm import Session

T = TypeVar("T")

BATCH = 2000


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nesting is fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def driver_errors(connection: Any) -> Iterator[None]:
    """Statements given to the driver itself (COPY, executemany, a journal row) fail as
    SQLAlchemy's own statements do: a connection the server dropped is invalidated (never
    rolled back on its way to the pool, never reused) and the error is raised as
    SQLAlchemy's DBAPIError, which callers and the commands' error handling know."""
    from sqlalchemy.exc import DBAPIError

    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dbapi.Error, connection_invalidated=lost,
                                  dialect=connection.dialect) from exc


def insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> int:
    """INSERT rows (each a dict of the same columns), skipping those whose `key` exists, on
    SQLite and PostgreSQL. Returns how many were inserted (exact even with concurrent
    writers)."""
    if not rows:
        return 0
    columns = list(rows[0])
    return insert_rows(session, table, columns, [], _params(table, rows, columns, session.get_bind().dialect), key)


def converters(table: Any, columns: Iterable[str], dialect: Any) -> dict[str, Callable[[Any], Any]]:
    """Each column's conversion to the driver's form (identity where the driver takes the
    value as it is), a repeated value converted once: for callers that build driver-ready
    rows themselves and convert what rows share (a day, an instant) once, not per row."""
    return {name: _convert(table.c[name].type, dialect) or _same for name in columns}


def _same(value: Any) -> Any:
    return value


def insert_rows(session: Session, table: Any, columns: Sequence[str], fresh: list[tuple[Any, ...]],
                again: list[tuple[Any, ...]], key: str) -> int:
    """INSERT rows already in the driver's form (see `converters`), skipping those whose
    `key` exists; returns how many went in. `fresh` rows are expected to be new (nothing
    of theirs was there when they were planned): on PostgreSQL they are COPYed straight
    into the table inside a savepoint, and should another process have written one of
    them meanwhile, the savepoint is rolled back and they are checked with `again`.
    SQLite checks every row in one executemany (a check costs it nothing: no other
    writer, BEGIN IMMEDIATE)."""
    connection = session.connection()
    with driver_errors(connection):
        return _insert_rows(connection, table, columns, fresh, again, key)


def _insert_rows(connection: Any, table: Any, columns: Sequence[str], fresh: list[tuple[Any, ...]],
                 again: list[tuple[Any, ...]], key: str) -> int:
    raw = connection.connection.driver_connection
    assert raw is not None
    if connection.dialect.name != "postgresql":
        before = raw.total_changes
        executemany(connection, f'INSERT INTO "{table.name}" ({_quoted(columns)}) VALUES '
                                f'({", ".join("?" * len(columns))}) ON CONFLICT ("{key}") DO NOTHING', fresh + again)
        return int(raw.total_changes - before)
    inserted = 0
    if fresh:
        from psycopg.errors import UniqueViolation

        raw.execute("SAVEPOINT rectify_fresh")
        try:
            _copy(raw, f'"{table.name}"', columns, fresh)
        except UniqueViolation:
            raw.execute("ROLLBACK TO SAVEPOINT rectify_fresh")
            again = fresh + again
        else:
            inserted = len(fresh)
        raw.execute("RELEASE SAVEPOINT rectify_fresh")
    return inserted + _pg_insert_ignore(raw, table, columns, again, key)


def _pg_insert_ignore(raw: Any, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]], key: str) -> int:
    """PostgreSQL, rows that may exist: a few by one pipelined executemany of INSERT ... ON
    CONFLICT DO NOTHING; many by COPY into a temporary table and one INSERT ... SELECT ...
    ON CONFLICT DO NOTHING (a large executemany costs the driver more than the server)."""
    if not rows:
        return 0
    names = _quoted(columns)
    with raw.cursor() as cur:
        if len(rows) <= BATCH:
            cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join(["%s"] * len(columns))}) '
                            f'ON CONFLICT ("{key}") DO NOTHING', rows)
            return int(cur.rowcount)
        scratch = f"rectify_copy_{table.name}"
        cur.execute(f'CREATE TEMP TABLE IF NOT EXISTS {scratch} AS SELECT {names} FROM "{table.name}" WITH NO DATA')
        cur.execute(f"TRUNCATE {scratch}")
        _copy(raw, scratch, columns, rows)
        cur.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {scratch} '
                    f'ON CONFLICT ("{key}") DO NOTHING')
        inserted = int(cur.rowcount)
        cur.execute(f"TRUNCATE {scratch}")
    return inserted


def executemany(connection: Any, sql: str, params: list[tuple[Any, ...]]) -> None:
    """SQLite: the driver's own executemany of `sql` (qmark style) on the connection."""
    with driver_errors(connection):
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(sql, params)
        finally:
            cursor.close()


def _copy(raw: Any, target: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY rows in the driver's form into `target` (a quoted table name)."""
    with raw.cursor() as cur, cur.copy(f"COPY {target} ({_quoted(columns)}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(values)


def streams(dialect: Any) -> bool:
    """Whether `stream_rows` serves this database: SQLite, and PostgreSQL through psycopg on
    libpq 17 or later (which hands a statement's rows over in chunks as they come)."""
    if dialect.name != "postgresql":
        return bool(dialect.name == "sqlite")
    import psycopg

    return bool(psycopg.pq.version() >= 170000)


def stream_rows(connection: Any, query: Any, make: Callable[..., T], size: int) -> Iterator[T]:
    """`make(*row)` for each row of a SELECT, read by the driver itself a chunk of `size`
    rows at a time, each value as SQLAlchemy's own result would give it (its column type's
    result processor, each distinct value of a chunk converted once). Nothing else may use the
    connection until every row is read: on PostgreSQL the statement's rows keep coming
    without a round trip a chunk (a server-side cursor waits for each), and one left
    midway is cancelled, its transaction with it. See `streams` for where it serves."""
    dialect = connection.dialect
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    convert = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in query.selected_columns]
    raw: Any = connection.connection.driver_connection
    with driver_errors(connection):
        if dialect.name == "postgresql":
            rows = raw.cursor().stream(compiled.string, compiled.params, size=size)
            try:
                yield from _made(rows, make, convert, size)
            finally:
                rows.close()
            return
        cursor = raw.execute(compiled.string, [compiled.params[name] for name in compiled.positiontup])
        try:
            while chunk := cursor.fetchmany(size):
                yield from _converted(chunk, make, convert)
        finally:
            cursor.close()


def _made(rows: Iterator[tuple[Any, ...]], make: Callable[..., T], convert: list[Any], size: int) -> Iterator[T]:
    """Rows that come one at a time, made a chunk at a time."""
    if not any(convert):
        for row in rows:
            yield make(*row)
        return
    while chunk := list(itertools.islice(rows, size)):
        yield from _converted(chunk, make, convert)


def _converted(chunk: list[tuple[Any, ...]], make: Callable[..., T], convert: list[Any]) -> Iterator[T]:
    """A chunk's rows made, converted a column at a time (one map each)."""
    by_column = zip(*chunk, strict=True)  # every row has every column
    columns = [column if fn is None else _each(fn, column) for column, fn in zip(by_column, convert, strict=True)]
    return map(make, *columns)


def _each(convert: Callable[[Any], Any], column: tuple[Any, ...]) -> Iterator[Any]:
    """A column's values converted, each distinct one once (a table looked up in C)."""
    try:
        table = {value: convert(value) for value in set(column)}
    except TypeError:  # an unhashable value (JSON): each converted
        return map(convert, column)
    return map(table.__getitem__, column)


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def insert_all(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows that cannot conflict (new events, index rows, measures) at the driver's
    speed: SQLite's executemany, PostgreSQL's COPY straight into the table. Values go
    through each column type's bind processor, a repeated value converted once; JSON is
    serialised as SQLAlchemy would."""
    if rows:
        _write(session.connection(), table.name, *_prepared(session, table, rows))


def _prepared(session: Session, table: Any, rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The columns and the driver's values of rows for insert_all."""
    defaults = _defaults(table, rows[0])
    columns = [*rows[0], *defaults]
    return columns, _params(table, rows, columns, session.get_bind().dialect, defaults)


def _write(connection: Any, name: str, columns: list[str], params: list[tuple[Any, ...]]) -> None:
    if connection.dialect.name == "postgresql":
        with driver_errors(connection):
            _copy(connection.connection.driver_connection, f'"{name}"', columns, params)
    else:
        executemany(connection, f'INSERT INTO "{name}" ({_quoted(columns)}) VALUES ({", ".join("?" * len(columns))})',
                    params)


class Writer:
    """insert_all for a run of many inserts (an import's items, events, measures): the
    rows are made ready in the caller's thread; on PostgreSQL they are COPYed by a thread
    of its own, in order, so the server's work on one batch (index entries, foreign-key
    checks) goes on while the next batch is made ready. On SQLite they are written at once.
    Nothing else may use the connection until `close` (the `writer` context) returns, and
    `close` raises what a write raised."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = session.connection()
        self.jobs: queue.Queue[tuple[str, list[str], list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        if self.connection.dialect.name == "postgresql":
            self.thread = threading.Thread(target=self._run, name="rectify-copy", daemon=True)
            self.thread.start()

    def insert_all(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns, params = _prepared(self.session, table, rows)
        if self.thread is None:
            _write(self.connection, table.name, columns, params)
        elif self.error is None:
            self.jobs.put((table.name, columns, params))

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            if self.error is None:
                try:
                    _write(self.connection, *job)
                except BaseException as exc:  # handed to the caller by close()
                    self.error = exc

    def close(self) -> None:
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None
        if self.error is not None:
            raise self.error


@contextmanager
def writer(session: Session) -> Iterator[Writer]:
    out = Writer(session)
    try:
        yield out
    finally:
        out.close()


def take_ids(session: Session, table: Any, count: int) -> list[int]:
    """`count` new ids for rows the caller will insert with their ids written explicitly
    (PostgreSQL: from the table's sequence, safe beside other writers; SQLite: after the
    highest, safe because every writing transaction here holds SQLite's write lock)."""
    if count == 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # the sequence named once (in the same statement it is looked up for every id), the
        # ids given back as one array
        sequence = connection.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar_one()
        return list(connection.exec_driver_sql("SELECT array_agg(nextval(%(seq)s::regclass)) "
                                               f"FROM generate_series(1, {count})", {"seq": sequence}).scalar_one())
    top = int(connection.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{table.name}"').scalar_one())
    return list(range(top + 1, top + 1 + count))


def _defaults(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    """The Python-side defaults SQLAlchemy would apply for the columns a row leaves out
    (a list or dict made fresh for every row)."""
    found: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in row or default is None or column.primary_key:
            continue
        if default.is_scalar:
            found[column.name] = lambda value=default.arg: value
        elif default.is_callable:
            found[column.name] = lambda fn=default.arg: fn(None)
    return found


def _params(table: Any, rows: list[dict[str, Any]], columns: list[str], dialect: Any,
            defaults: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Each row's values in `columns` order, as the driver takes them; a column the rows
    leave out takes its Python-side default (`defaults`, from _defaults). Built a column
    at a time (each converted by one map) and zipped into rows."""
    made = defaults or {}
    values: list[list[Any]] = []
    for name in columns:
        make = made.get(name)
        column = ([row[name] for row in rows] if make is None
                  else [row[name] if name in row else make() for row in rows])
        convert = _convert(table.c[name].type, dialect)
        values.append(column if convert is None else list(map(convert, column)))
    return list(zip(*values, strict=True))


def _convert(kind: Any, dialect: Any) -> Any:
    """A column's conversion to what the driver is given (JSON as its text)."""
    if isinstance(kind, JSON):
        return _json_text(dialect._json_serializer or json.dumps)
    return _memo(kind.dialect_impl(dialect).bind_processor(dialect))


def _json_text(serialise: Callable[[Any], str]) -> Callable[[Any], str | None]:
    """A JSON column's conversion: empty containers without the encoder, and one object
    shared by many rows (one event's data for a whole batch) encoded once; the memo lives
    as long as the conversion (one insert), and keeps what it keys alive."""
    seen: dict[int, tuple[Any, str]] = {}

    def text(value: Any) -> str | None:
        if value is None:
            return None
        if not value and isinstance(value, list | dict):
            return "[]" if isinstance(value, list) else "{}"
        found = seen.get(id(value))
        if found is None:
            found = seen[id(value)] = (value, serialise(value))
        return found[1]

    return text


def _memo(convert: Any) -> Any:
    """A bind processor that converts each distinct (hashable) value once."""
    if convert is None:
        return None
    seen: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = result = convert(value)
            return result
        except TypeError:  # unhashable (JSON): convert every time
            return convert(value)

    return once
