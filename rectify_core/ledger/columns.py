"""Column types: aware UTC datetimes on every backend, and the vocabulary's enums stored
as their text values."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from rectify_core.vocab import Vocab

V = TypeVar("V", bound=Vocab)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite drops offsets, so values are normalised to UTC before storing and
    tagged as UTC after loading. Naive datetimes are refused: they are bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        utc = value if value.tzinfo is dt.UTC and type(value) is dt.datetime else value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class VocabText(TypeDecorator[V], Generic[V]):
    """A vocabulary value stored as its text (the schema stays VARCHAR, so rows written
    before the enums existed read back unchanged) and read back as the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, vocab: type[V], length: int) -> None:
        super().__init__(length)
        self.vocab = vocab
        self._members: dict[str, V] = {m.value: m for m in vocab}

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> V | None:
        if value is None:
            return None
        member = self._members.get(value)
        if member is None:
            raise ValueError(f"{self.vocab.__name__} has no value {value!r}: a database written by another version")
        return member
