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
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Session

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


Rows = list[tuple[Any, ...]]


def insert_rows(session: Session, table: Any, columns: Sequence[str], fresh: Rows, again: Rows, key: str) -> int:
    """INSERT rows already in the driver's form (see `converters`), skipping those whose
    `key` exists; returns how many went in. `fresh` rows are expected to be new (nothing
    of theirs was there when they were planned): on PostgreSQL they are COPYed straight
    into the table inside a savepoint, and should another process have written one of
    them meanwhile, the savepoint is rolled back and they are checked with `again`.
    SQLite checks every row in one executemany (a check costs it nothing: no other
    writer, BEGIN IMMEDIATE)."""
    return insert_batches(session, table, columns, [(fresh, again)], key)


def insert_batches(session: Session, table: Any, columns: Sequence[str], batches: Iterable[tuple[Rows, Rows]],
                   key: str) -> int:
    """`insert_rows` of rows made a batch (fresh, again) at a time: on PostgreSQL a thread
    COPYs each batch's fresh rows while the next batch is made, so the server's work on
    them (the unique key, indexes, foreign keys) goes on meanwhile."""
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    with driver_errors(connection):
        if connection.dialect.name == "postgresql":
            return _pg_insert_batches(raw, table, columns, batches, key)
        rows = [row for fresh, again in batches for row in (*fresh, *again)]
        before = raw.total_changes
        executemany(connection, f'INSERT INTO "{table.name}" ({_quoted(columns)}) VALUES '
                                f'({", ".join("?" * len(columns))}) ON CONFLICT ("{key}") DO NOTHING', rows)
        return int(raw.total_changes - before)


def _pg_insert_batches(raw: Any, table: Any, columns: Sequence[str], batches: Iterable[tuple[Rows, Rows]],
                       key: str) -> int:
    from psycopg.errors import UniqueViolation

    fresh: Rows = []
    again: Rows = []
    copier = _Copier(raw, f'"{table.name}"', columns)
    try:
        for made_fresh, made_again in batches:
            fresh += made_fresh
            again += made_again
            copier.put(made_fresh)
    finally:
        error = copier.close()
    inserted = len(fresh)
    if isinstance(error, UniqueViolation):  # another process wrote one since: all are checked
        raw.execute("ROLLBACK TO SAVEPOINT rectify_fresh")
        again, inserted = fresh + again, 0
    elif error is not None:
        raise error
    if copier.started:
        raw.execute("RELEASE SAVEPOINT rectify_fresh")
    return inserted + _pg_insert_ignore(raw, table, columns, again, key)


class _Copier:
    """One COPY into `target`, fed batches of rows by the caller and written by a thread
    of its own (started, inside a savepoint, by the first rows). Nothing else may use the
    connection until `close`, which returns the error the COPY met, if any."""

    def __init__(self, raw: Any, target: str, columns: Sequence[str]) -> None:
        self.raw, self.target, self.columns = raw, target, columns
        self.rows: queue.Queue[Rows | None] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        self.given_all = False  # the thread has taken the end of the rows

    @property
    def started(self) -> bool:
        return self.thread is not None

    def put(self, rows: Rows) -> None:
        if not rows:
            return
        if self.thread is None:
            self.raw.execute("SAVEPOINT rectify_fresh")
            self.thread = threading.Thread(target=self._run, name="rectify-copy", daemon=True)
            self.thread.start()
        self.rows.put(rows)

    def _run(self) -> None:
        try:
            _copy(self.raw, self.target, self.columns, self._given())
        except BaseException as exc:  # handed to the caller by close()
            self.error = exc
            while not self.given_all and self.rows.get() is not None:  # the caller may still be putting rows
                pass

    def _given(self) -> Iterator[tuple[Any, ...]]:
        """The rows put, until `close`; the COPY ends (and the server may still refuse it) after."""
        while (rows := self.rows.get()) is not None:
            yield from rows
        self.given_all = True

    def close(self) -> BaseException | None:
        if self.thread is not None:
            self.rows.put(None)
            self.thread.join()
        return self.error


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


def _quoted(columns: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def insert_all(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows that cannot conflict (new events, index rows, measures) at the driver's
    speed: SQLite's executemany, PostgreSQL's COPY straight into the table. Values go
    through each column type's bind processor, a repeated value converted once; JSON is
    serialised as SQLAlchemy would."""
    if rows:
        _write(session.connection(), table.name, *_prepared(session, table, rows))


def update_all(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE rows by their "id", each dict the same columns, at the driver's speed:
    SQLite's executemany of one UPDATE; PostgreSQL's COPY of the new values into a
    temporary table and one UPDATE ... FROM it (no parameter limit, one statement)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "id"]
    params = _params(table, rows, [*columns, "id"], session.get_bind().dialect)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        setting = ", ".join(f'"{c}" = ?' for c in columns)
        executemany(connection, f'UPDATE "{table.name}" SET {setting} WHERE id = ?', params)
        return
    scratch = f'"_update_{table.name}"'
    raw = connection.connection.driver_connection
    assert raw is not None
    with driver_errors(connection), raw.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {scratch}")
        cur.execute(f'CREATE TEMPORARY TABLE {scratch} AS SELECT {_quoted([*columns, "id"])} FROM "{table.name}" '
                    "WITH NO DATA")
        _copy(raw, scratch, [*columns, "id"], params)
        setting = ", ".join(f'"{c}" = u."{c}"' for c in columns)
        cur.execute(f'UPDATE "{table.name}" AS t SET {setting} FROM {scratch} AS u WHERE t.id = u.id')
        cur.execute(f"DROP TABLE {scratch}")


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
