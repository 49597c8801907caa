"""The closed vocabularies of the ledger, stored as their text values.

Being `StrEnum`s they compare equal to the strings in the database and in JSON, so
rows written before these types existed read back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    OPEN = "open"  # 未完成
    ONGOING = "ongoing"  # 阶段性完成
    DONE = "done"  # 已完成 / 已销号


class DeadlineKind(StrEnum):
    IMMEDIATE = "immediate"  # 立行立改
    DATED = "dated"  # 限期整改
    LONG_TERM = "long_term"  # 长期坚持


class NoticeState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    CAPPED = "capped"


class NoticeKind(StrEnum):
    ITEM = "item"  # an item's own reminder
    LOOKBACK = "lookback"  # a look-back task's reminder
    ADMIN = "admin"  # an alert to the admin about a notice that could not be delivered


class TaskState(StrEnum):
    DUE = "due"
    DONE = "done"


class Role(StrEnum):
    OWNER = "owner"
    LEADER = "leader"
    FIRST_RESPONSIBLE = "first_responsible"
    INSPECTION_OFFICE = "inspection_office"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    BLUE = "blue"
