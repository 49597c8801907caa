"""Bulk work, in one place: the cyclic garbage collector paused while a run builds
objects by the hundred thousand, and the bulk insert that skips rows already there.

The collector: each allocation burst makes the collector walk every live object again and again; on a
100,000-item day that was 0.45 s of a 1.2 s plan. Reference counting still frees what
is dropped; cycles made meanwhile are collected once the collector is back on.

The insert (`insert_ignore`) takes the fastest path each database offers: the SQLite
driver's own executemany, PostgreSQL's COPY for large batches, else INSERT ... ON
CONFLICT DO NOTHING in batches; each counts exactly what it inserted.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects import postgresql, sqlite
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


def insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> int:
    """INSERT rows, skipping those whose `key` exists, on SQLite and PostgreSQL.
    Returns how many were inserted (exact even with concurrent writers)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) > BATCH and _plain_columns(table, rows[0]):
        return _copy_insert_ignore(session, table, rows, key)
    if dialect == "sqlite" and rows:
        return _sqlite_insert_ignore(session, table, rows, key)
    module: Any = postgresql if dialect == "postgresql" else sqlite
    inserted = 0
    for start in range(0, len(rows), BATCH):
        stmt = module.insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
        inserted += len(session.execute(stmt, rows[start:start + BATCH]).all())
    return inserted


def insert_all(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT rows that cannot conflict (new events, index rows, measures) at the driver's
    speed: SQLite's executemany, PostgreSQL's COPY straight into the table. Values go
    through each column type's bind processor, a repeated value converted once; JSON is
    serialised as SQLAlchemy would."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    defaults = _defaults(table, rows[0])
    columns = [*rows[0], *defaults]
    params = _params(table, rows, columns, dialect, defaults)
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    if dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for values in params:
                copy.write_row(values)
        return
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})', params)
    finally:
        cursor.close()


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


def insert_with_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """insert_all for rows whose new ids the caller needs, in order: the ids are taken
    first (PostgreSQL: from the table's sequence, safe beside other writers; SQLite: after
    the highest, safe because every writing transaction here holds SQLite's write lock)
    and written explicitly."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        ids = [int(i) for (i,) in connection.exec_driver_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {len(rows)})")]
    else:
        top = connection.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{table.name}"').scalar_one()
        ids = list(range(int(top) + 1, int(top) + 1 + len(rows)))
    insert_all(session, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def _params(table: Any, rows: list[dict[str, Any]], columns: list[str], dialect: Any,
            defaults: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Each row's values in `columns` order, as the driver takes them; a column the rows
    leave out takes its Python-side default (`defaults`, from _defaults)."""
    made = defaults or {}
    convert = [_convert(table.c[name].type, dialect) for name in columns]
    return [tuple(f(v) if f else v for v, f in zip((row[n] if n in row else made[n]() for n in columns), convert,
                                                   strict=True))
            for row in rows]


def _convert(kind: Any, dialect: Any) -> Any:
    """A column's conversion to what the driver is given (JSON as its text)."""
    if isinstance(kind, JSON):
        serialise = dialect._json_serializer or json.dumps
        return lambda value: None if value is None else serialise(value)
    return _memo(kind.dialect_impl(dialect).bind_processor(dialect))


def _plain_columns(table: Any, row: dict[str, Any]) -> bool:
    """Columns COPY can take as they are (no JSON, no type decorators beyond datetimes)."""
    return all(not isinstance(table.c[name].type, JSON) for name in row)


def _sqlite_insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> int:
    """SQLite: the driver's own executemany of INSERT ... ON CONFLICT DO NOTHING, counted
    by the connection's change counter. Exact: every transaction here holds SQLite's
    write lock (BEGIN IMMEDIATE), so no other writer's rows are counted.

    Values go through each column type's own bind processor, as SQLAlchemy would send
    them, but a repeated value (the day, the instant, a due date) is converted once: per
    row and column conversion cost more than the insert itself."""
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    compiled = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key]).compile(
        dialect=dialect, column_keys=columns)
    order = [compiled.binds[name].key for name in compiled.positiontup or []]
    params = _params(table, rows, order, dialect)
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    before = raw.total_changes
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(str(compiled), params)
    finally:
        cursor.close()
    return int(raw.total_changes - before)


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


def _copy_insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> int:
    """PostgreSQL: COPY the rows into a temporary table, then one INSERT ... SELECT ... ON
    CONFLICT DO NOTHING; its row count is what was inserted. A large multi-row VALUES
    costs the driver more to build than the server to run."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    scratch = f"rectify_copy_{table.name}"
    with raw.cursor() as cur:
        cur.execute(f'CREATE TEMP TABLE IF NOT EXISTS {scratch} AS SELECT {names} FROM "{table.name}" WITH NO DATA')
        cur.execute(f"TRUNCATE {scratch}")
        with cur.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        cur.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {scratch} '
                    f'ON CONFLICT ("{key}") DO NOTHING')
        inserted = int(cur.rowcount)
        cur.execute(f"TRUNCATE {scratch}")
    return inserted
