"""ORM models (SQLAlchemy 2 typed mapping).

Datetimes are stored as aware UTC through `UTCDateTime`; calendar dates as `Date`.
Canonical statuses are stored as codes (open / ongoing / done) and shown in Chinese.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    case,
    cast,
    func,
    literal,
)
from sqlalchemy import true as sa_true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from rectify_core.identity import unit_key
from rectify_core.ledger.columns import UTCDateTime, VocabText
from rectify_core.refs import FORMER, item_ref, label
from rectify_core.vocab import (
    DeadlineKind,
    EventKind,
    ItemState,
    Role,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def shown_number(no: int, listed: bool, former_no: int | None) -> int:
    """The number an item last had on a sheet: its sheet number, or the one it had in the
    last sheet that listed it (an item the sheet no longer lists holds -id)."""
    return no if listed or former_no is None else former_no


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _unit_key(context: Any) -> str:
    return unit_key(context.get_current_parameters()["name"])


class Unit(Base):
    """An inspected unit (被巡察单位): its rounds, and how it is named and who signs for it."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # the name spelling aside (identity.unit_key), made as the unit is (names never change)
    name_key: Mapped[str] = mapped_column(String(200), index=True, default=_unit_key)
    short_name: Mapped[str | None] = mapped_column(String(50))  # 交通局: sheet names, tables
    office: Mapped[str | None] = mapped_column(String(200))  # who signs its digests and documents


class Round(Base):
    """One inspection of one unit (巡察轮次), identified by `key` within its unit:
    inspector + feedback date when known, else an explicit key or the ledger's title
    (never a file name or a 填报 line)."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("unit_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    key: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(300))
    first_responsible: Mapped[str | None] = mapped_column(String(100))
    inspector: Mapped[str | None] = mapped_column(String(200))
    inspection_start: Mapped[dt.date | None] = mapped_column(Date)
    inspection_end: Mapped[dt.date | None] = mapped_column(Date)
    feedback_date: Mapped[dt.date | None] = mapped_column(Date)
    report_date: Mapped[dt.date | None] = mapped_column(Date)
    source_name: Mapped[str | None] = mapped_column(String(500))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    unit: Mapped[Unit] = relationship()
    aspects: Mapped[list[Aspect]] = relationship(
        back_populates="round", order_by="Aspect.no", cascade="all, delete-orphan"
    )


class Aspect(Base):
    """方面: first level above items."""

    __tablename__ = "aspects"
    __table_args__ = (UniqueConstraint("round_id", "no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)

    round: Mapped[Round] = relationship(back_populates="aspects")


class Topic(Base):
    """关于“…”方面: second level above items."""

    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("round_id", "no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    aspect_id: Mapped[int | None] = mapped_column(ForeignKey("aspects.id"))
    no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)


class Item(Base):
    """问题: one problem to rectify, numbered within its round."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("round_id", "no"),
        Index("ix_items_status", "status"),
        Index("ix_items_updated_at", "updated_at"),  # the glance's version: the latest change
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    aspect_id: Mapped[int | None] = mapped_column(ForeignKey("aspects.id"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    # the 序号 of the latest sheet; an item that sheet did not list holds -id (never a
    # number the sheet uses) and keeps the number it had in `former_no`
    no: Mapped[int] = mapped_column(Integer)
    listed: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    former_no: Mapped[int | None] = mapped_column(Integer)
    # a second (third…) item of the round set aside from the same number: 原13-2
    former_seq: Mapped[int | None] = mapped_column(Integer)
    # the item a merged one joined (of the same round)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("items.id"))

    @hybrid_property
    def shown_no(self) -> int:
        """The number people know the item by: its sheet number, or the one it had in the
        last sheet that listed it."""
        return shown_number(self.no, self.listed, self.former_no)

    @shown_no.inplace.expression
    @classmethod
    def _shown_no(cls) -> ColumnElement[int]:
        return case((cls.listed, cls.no), else_=func.coalesce(cls.former_no, -cls.no))

    @hybrid_property
    def ref(self) -> str:
        """How people name the item (`refs`): `13` for the sheet's row 13, `原13` for an
        item the sheet no longer lists."""
        return item_ref(self.no, self.listed, self.former_no, self.former_seq)

    @ref.inplace.expression
    @classmethod
    def _ref(cls) -> ColumnElement[str]:
        former = literal(FORMER) + cast(func.coalesce(cls.former_no, -cls.no), String) + case(
            (func.coalesce(cls.former_seq, 1) > 1, literal("-") + cast(cls.former_seq, String)), else_=literal(""))
        return case((cls.listed, cast(cls.no, String)), else_=former)

    @property
    def label(self) -> str:
        """问题13 / 原13: the reference as a sentence reads it."""
        return label(self.ref)

    title: Mapped[str] = mapped_column(Text)
    status: Mapped[ItemState] = mapped_column(VocabText(ItemState, 10))
    status_text: Mapped[str] = mapped_column(Text)
    immediate: Mapped[bool] = mapped_column(default=False)
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    deadline_kind: Mapped[DeadlineKind | None] = mapped_column(VocabText(DeadlineKind, 10))
    deadline_text: Mapped[str | None] = mapped_column(Text)
    leader: Mapped[str | None] = mapped_column(String(100))
    leader_title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(100))
    measures_text: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    figures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    source_line: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    extended_to: Mapped[dt.date | None] = mapped_column(Date)
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # first day the item was seen past its due date; it stays yellow, not green, after
    # catching up, and counts as "closed late" for look-back risk
    overdue_since: Mapped[dt.date | None] = mapped_column(Date)
    # the day the item became done (the report's date for an imported 已完成)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    # latest progress recorded in rectify (the full trail is in the events)
    progress: Mapped[str | None] = mapped_column(Text)
    progress_on: Mapped[dt.date | None] = mapped_column(Date)
    # fields a person set in rectify -> the transition that set them; an import never
    # overwrites these, it records a disagreement instead
    pinned: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # ledger columns rectify has no field for (备注 and others), kept as written
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    closure_id: Mapped[int | None] = mapped_column(ForeignKey("closures.id", use_alter=True))
    rebound_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the closure a rebound reopened: the reopened item's link to its original 销号
    reopened_from: Mapped[int | None] = mapped_column(ForeignKey("closures.id", use_alter=True))
    # 已阅: the last time a person acknowledged the item from their link (shown in digests)
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))

    round: Mapped[Round] = relationship()
    aspect: Mapped[Aspect | None] = relationship()
    topic: Mapped[Topic | None] = relationship()
    measures: Mapped[list[Measure]] = relationship(
        order_by="Measure.seq", cascade="all, delete-orphan"
    )


class Measure(Base):
    """整改措施: one dated step taken or planned for an item."""

    __tablename__ = "measures"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    date: Mapped[str | None] = mapped_column(String(10))
    date_end: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)


class Person(Base):
    """Someone in a unit's chain: owner, leader, first responsible, inspection office."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("unit_id", "name", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(VocabText(Role, 30))
    title: Mapped[str | None] = mapped_column(String(200))


class Event(Base):
    """Append-only log: who did what to which item, when and why."""

    __tablename__ = "events"
    # a round's events by kind: what an import reads of people's records, of disagreements it
    # told, and the bulletin of reports (without it each county import scanned every event)
    __table_args__ = (Index("ix_events_item_at", "item_id", "at"), Index("ix_events_round_kind", "round_id", "kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[EventKind] = mapped_column(VocabText(EventKind, 30))
    actor: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)


class ImportBatch(Base):
    """One import: what it created and what it changed (old values), so it can be undone."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None once an undo removed the round this batch had created
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    source_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    report_date: Mapped[dt.date | None] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    round_created: Mapped[bool] = mapped_column(default=False)
    round_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created: Mapped[list[int]] = mapped_column(JSON, default=list)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # item id -> old values
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    undone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    undone_by: Mapped[str | None] = mapped_column(String(100))



class Closure(Base):
    """销号: an item closed with evidence and a second person's verification, or
    imported as done (evidence not recorded)."""

    __tablename__ = "closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    closed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_on: Mapped[dt.date] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    verified_by: Mapped[str | None] = mapped_column(String(100))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    evidence_recorded: Mapped[bool] = mapped_column(default=True)
    late: Mapped[bool] = mapped_column(default=False)
    reopened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())



class ItemHolder(Base):
    """Who holds an item (owner or leader), one row per person named, by their
    normalised name: how a personal page finds its items without scanning the ledger.
    Kept by the transitions that set owner or leader (holders.py)."""

    __tablename__ = "item_holders"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(VocabText(Role, 10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)



