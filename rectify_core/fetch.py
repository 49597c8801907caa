"""Reading rows at the driver's speed: a SELECT's rows from the driver itself, a chunk at
a time, made straight into the caller's records (a million rows, where SQLAlchemy's own
rows cost more than the query)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Date, DateTime

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
    result processor, each distinct value of a chunk converted once). See `raw_chunks` for
    how the rows come and what it asks of the connection."""
    convert = converters(connection.dialect, query)
    for chunk in raw_chunks(connection, query, size):
        yield from made(chunk, make, convert)


def driver_rows(connection: Any, query: Any, size: int = 20_000) -> Iterable[tuple[Any, ...]]:
    """A SELECT's rows as the driver gives them (values not converted: text dates and JSON on
    SQLite), read by the driver itself where it streams (`raw_chunks`), else through
    SQLAlchemy."""
    if streams(connection.dialect):
        return itertools.chain.from_iterable(raw_chunks(connection, query, size))
    rows: Iterable[tuple[Any, ...]] = connection.execute(query)
    return rows


def raw_chunks(connection: Any, query: Any, size: int, *,
               iso_dates: bool = False) -> Generator[list[tuple[Any, ...]], None, None]:
    """A SELECT's rows as the driver gives them (values not yet converted: `made` does
    that), `size` rows at a time; dates as the server writes them, when `iso_dates` (see
    `dates_in_iso`). Nothing else may use the connection until every row is read: on
    PostgreSQL the statement's rows keep coming without a round trip a chunk (a
    server-side cursor waits for each), and one left midway is cancelled, its transaction
    with it. See `streams` for where it serves."""
    dialect = connection.dialect
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    raw: Any = connection.connection.driver_connection
    with driver_errors(connection):
        if dialect.name == "postgresql":
            cursor = raw.cursor()
            if iso_dates:
                from psycopg.types.string import TextLoader

                cursor.adapters.register_loader("date", TextLoader)
            rows = cursor.stream(compiled.string, compiled.params, size=size)
            try:
                while chunk := list(itertools.islice(rows, size)):
                    yield chunk
            finally:
                rows.close()
            return
        cursor = raw.execute(compiled.string, [compiled.params[name] for name in compiled.positiontup])
        try:
            while chunk := cursor.fetchmany(size):
                yield chunk
        finally:
            cursor.close()


def converters(dialect: Any, query: Any, iso_dates: bool = False) -> list[Callable[[Any], Any] | None]:
    """Each selected column's result processor on this dialect (None: the driver's value is
    already SQLAlchemy's); with `iso_dates`, a date column's ISO text made a date."""
    return [_iso_date if iso_dates and _is_date(c.type) else
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in query.selected_columns]


def _iso_date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _is_date(kind: Any) -> bool:
    return isinstance(kind, Date) and not isinstance(kind, DateTime)


def dates_in_iso(connection: Any) -> bool:
    """Whether `raw_chunks` can give this connection's dates as text that `converters`
    makes dates again (PostgreSQL writing them in ISO, its default): plain values, which
    travel to another process several times cheaper than date objects."""
    if connection.dialect.name != "postgresql":
        return False
    style = connection.connection.driver_connection.info.parameter_status("DateStyle")
    return bool(style and str(style).upper().startswith("ISO"))


def dialect_of(name: str, driver: str) -> Any:
    """A dialect by name, unconnected: what another process needs to convert the rows of
    `raw_chunks` as `made` does (a dialect itself does not travel)."""
    from sqlalchemy.engine import URL

    return URL.create(f"{name}+{driver}").get_dialect()()


def made(chunk: list[tuple[Any, ...]], make: Callable[..., T], convert: list[Any]) -> Iterator[T]:
    """A chunk's rows made, converted a column at a time (one map each)."""
    if not chunk:
        return iter(())
    if not any(convert):
        return itertools.starmap(make, chunk)
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
