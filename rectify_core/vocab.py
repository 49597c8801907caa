"""The closed vocabularies of the ledger, stored as their text values.

Being `StrEnum`s they compare equal to the strings in the database and in JSON, so
rows written before these types existed read back unchanged.
"""

from __future__ import annotations

import re
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

OPEN, ONGOING, DONE = ItemState.OPEN, ItemState.ONGOING, ItemState.DONE
ACTIVE = (OPEN, ONGOING)
LABELS: dict[str, str] = {DONE: "已完成", ONGOING: "阶段性完成", OPEN: "未完成"}
CODES = {label: code for code, label in LABELS.items()}
# an import may raise a status (open -> ongoing -> done), never lower what a person recorded
RANK: dict[str, int] = {OPEN: 0, ONGOING: 1, DONE: 2}

VOCABULARY: dict[str, str] = {
    **{w: DONE for w in (
        "已完成", "完成", "已完成整改", "完成整改", "已整改", "已整改完成", "整改完成",
        "已销号", "销号", "已办结", "办结", "已整改到位", "整改到位", "已落实",
    )},
    **{w: ONGOING for w in (
        "阶段性完成", "阶段性完成整改", "基本完成", "基本完成整改",
        "基本完成取得阶段性成果并持续整改", "基本完成,取得阶段性成果并持续整改",
        "取得阶段性成果", "持续推进", "持续整改", "长期坚持", "长期坚持整改", "持续深化",
    )},
    **{w: OPEN for w in (
        "未完成", "正在整改", "整改中", "未整改", "尚未完成", "未开始", "推进中",
        "正在推进", "未完成整改", "反弹回潮", "反弹回潮，重新整改",
    )},
}

_TRAILING = re.compile(r"[。.;；,，!！\s]+$")


class UnknownStatus(ValueError):
    pass


def normalise(text: str) -> str:
    """Status wording -> canonical code. The whole phrase is tried, then its first
    clause (reports often add a sentence after the status word)."""
    phrase = _TRAILING.sub("", text.strip().replace(" ", ""))
    if phrase in VOCABULARY:
        return VOCABULARY[phrase]
    first = re.split(r"[。;；,，]", phrase, maxsplit=1)[0]
    if first in VOCABULARY:
        return VOCABULARY[first]
    raise UnknownStatus(f"无法识别的完成情况“{text.strip()}”（可用：已完成、阶段性完成、未完成等）")
