"""Reading rows at the driver's speed: a SELECT's rows from the driver itself, a chunk at
a time, made straight into the caller's records (a million rows, where SQLAlchemy's own
rows cost more than the query)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from rectify_core.bulk import driver_errors

T = TypeVar("T")


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
