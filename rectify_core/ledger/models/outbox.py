"""The tables of what is owed and sent: ladders items started on, the outbox and its
journal, look-back sweeps and tasks, and requests from personal pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rectify_core.ledger.columns import UTCDateTime, VocabText
from rectify_core.ledger.models.core import (
    Base,
    Item,
)
from rectify_core.vocab import (
    NoticeKind,
    NoticeState,
    RequestKind,
    RequestState,
    Role,
    TaskState,
)


class Ladder(Base):
    """A reminder ladder as it was when an item first used it (items keep theirs)."""

    __tablename__ = "ladders"

    version: Mapped[str] = mapped_column(String(12), primary_key=True)
    spec: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Notice(Base):
    """Outbox: one planned notice to one person about one item at one ladder step.

    `dedup_key` is unique: planning the same day twice, or two processes at once,
    inserts each notice once. States: pending -> sent | failed (retried) -> dead.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_state_next", "state", "next_attempt_at"),
                      # by item, and within an item the step it was last asked at (pages read it
                      # from the index alone)
                      Index("ix_notices_item_step", "item_id", "kind", "id", "step_name"),
                      Index("ix_notices_recipient", "recipient_unit", "recipient", "state"),
                      Index("ix_notices_claimed_by", "claimed_by"))

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    due: Mapped[dt.date] = mapped_column(Date)
    step_key: Mapped[str] = mapped_column(String(12))
    step_name: Mapped[str] = mapped_column(String(100))
    ladder: Mapped[str] = mapped_column(String(12))
    recipient: Mapped[str] = mapped_column(String(100))
    # a person is (unit, name): homonyms in two units are two people; "*" for people
    # who serve every unit (an inspection office named in contacts.toml)
    recipient_unit: Mapped[str] = mapped_column(String(200), default="", server_default="")
    kind: Mapped[NoticeKind] = mapped_column(VocabText(NoticeKind, 10), default=NoticeKind.ITEM, server_default="item")
    role: Mapped[Role] = mapped_column(VocabText(Role, 30))
    reason: Mapped[str] = mapped_column(Text)
    planned_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[NoticeState] = mapped_column(VocabText(NoticeState, 10), default=NoticeState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(30))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lookback_id: Mapped[int | None] = mapped_column(ForeignKey("lookback_tasks.id"))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    item: Mapped[Item] = relationship()


class NoticePart(Base):
    """One message that went, journaled the moment it went: which notices it carried, on
    which channel. A deliverer marks its parts' notices sent in bulk once its group of
    people is done (one small insert per message, not an update of every notice and an
    event each). If it dies first, whoever takes its claims back marks the journaled
    notices sent before returning the rest to the queue: what went is not sent again."""

    __tablename__ = "notice_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    notices: Mapped[str] = mapped_column(Text)  # the notice ids, comma-separated
    ref: Mapped[str | None] = mapped_column(String(100))  # the platform's message or task id, when it gives one


class ImUser(Base):
    """A person's user id on a work platform (WeCom, DingTalk), found by their mobile
    number and remembered, so it is looked up once, and again only when the platform
    says it is no longer valid."""

    __tablename__ = "im_users"
    __table_args__ = (UniqueConstraint("platform", "account", "mobile"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))   # the channel's scheme: wecomapp, dingwork
    account: Mapped[str] = mapped_column(String(100))   # the CorpID or AppKey (never the secret)
    mobile: Mapped[str] = mapped_column(String(20))
    userid: Mapped[str] = mapped_column(String(100))
    looked_up_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LookbackSweep(Base):
    """One quarterly selection: its seed and what it selected, for reproducibility."""

    __tablename__ = "lookback_sweeps"
    __table_args__ = (UniqueConstraint("run_on", "unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_on: Mapped[dt.date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(200), default="", server_default="")
    seed: Mapped[str] = mapped_column(String(100))
    share: Mapped[float] = mapped_column()
    selected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LookbackTask(Base):
    """回头看: re-check one closed item by a reviewer before a due date."""

    __tablename__ = "lookback_tasks"
    __table_args__ = (UniqueConstraint("closure_id", "sweep_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    closure_id: Mapped[int] = mapped_column(ForeignKey("closures.id"))
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("lookback_sweeps.id"))
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reviewer: Mapped[str | None] = mapped_column(String(100))
    due: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[TaskState] = mapped_column(VocabText(TaskState, 10), default=TaskState.DUE)
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    item: Mapped[Item] = relationship()


class ItemRequest(Base):
    """申请: an extension (延期) or a closure (销号) asked for from a personal link, waiting
    for the leader's approval or the verifier's check. A decision is made once."""

    __tablename__ = "item_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[RequestKind] = mapped_column(VocabText(RequestKind, 10))
    state: Mapped[RequestState] = mapped_column(VocabText(RequestState, 10), default=RequestState.PENDING, index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_unit: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # extension: {"to", "reason"}; closure: {"text", "evidence": [records]}
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    item: Mapped[Item] = relationship()


class ScoreSnapshot(Base):
    """A period's 结果考评 frozen for the record: every unit's measures, deductions, score
    and grade as of a day, with the rules used. A later edit of the ledger never changes
    it; freezing the period again (--force) keeps this one, marked replaced."""

    __tablename__ = "score_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)  # 2026Q4
    as_of: Mapped[dt.date] = mapped_column(Date)
    frozen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    frozen_by: Mapped[str | None] = mapped_column(String(100))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    scores: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    replaced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
