"""The ledger's vocabulary, written once: every closed set of values with its Chinese
label, the order people read it in, and the wordings that reports use for them.

Being `StrEnum`s, the values compare equal to the strings in the database and in JSON,
so rows written before these types existed read back unchanged. Every output (digest,
report, export, dashboard, web page, CLI, artifact) takes its words from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from rectify_core.refs import order


class Vocab(StrEnum):
    """A closed vocabulary whose members know their Chinese label."""

    @property
    def label(self) -> str:
        return _LABELS[type(self)][self]

    @classmethod
    def labels(cls) -> dict[str, str]:
        """value -> label, in the vocabulary's own order."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, value: str | None, missing: str = "—") -> str:
        """The label of a stored value; `missing` for none, the value itself if unknown."""
        if value is None or value == "":
            return missing
        try:
            return cls(value).label
        except ValueError:
            return str(value)


class ItemState(Vocab):
    OPEN = "open"
    ONGOING = "ongoing"
    DONE = "done"
    WITHDRAWN = "withdrawn"  # 撤销: no longer chased nor counted, its reason kept
    MERGED = "merged"  # 合并: its history joins another item's trail


class DeadlineKind(Vocab):
    IMMEDIATE = "immediate"
    DATED = "dated"
    LONG_TERM = "long_term"


class Light(Vocab):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"

    @property
    def short(self) -> str:
        """红 / 黄 / 绿 / 蓝, for a cell or a badge."""
        return self.label[0]

    @property
    def color(self) -> str:
        return _LIGHT_COLORS[self]


NO_LIGHT = "无灯"
NO_LIGHT_COLOR = "#666"
# most urgent first: how digests, pages and lists are ordered
URGENCY: dict[str | None, int] = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2, Light.BLUE: 3, None: 4}


def light_label(light: str | None, missing: str = NO_LIGHT) -> str:
    return Light.label_of(light, missing)


def urgency(light: str | None, workdays_left: int | None, ref: str) -> tuple[int, int, tuple[int, int, int]]:
    """The one order of urgency, most urgent first: by light, then fewest working days left
    (none known counts as the most), then the problem's number. Digests, pages and lists
    all sort by it."""
    return URGENCY[light], workdays_left if workdays_left is not None else 10**6, order(ref)


class NoticeState(Vocab):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    CAPPED = "capped"
    HELD = "held"  # restored from a backup while waiting: sent only after `outbox release`


class NoticeKind(Vocab):
    ITEM = "item"  # an item's own reminder
    LOOKBACK = "lookback"  # a look-back task's reminder
    ADMIN = "admin"  # an alert to the admin about a notice that could not be delivered


class TaskState(Vocab):
    DUE = "due"
    DONE = "done"
    OVERDUE = "overdue"  # shown only: a due task past its date


class Role(Vocab):
    OWNER = "owner"
    LEADER = "leader"
    FIRST_RESPONSIBLE = "first_responsible"
    INSPECTION_OFFICE = "inspection_office"
    REVIEWER = "reviewer"
    VERIFIER = "verifier"
    DEPARTMENT_HEAD = "department_head"  # a 责任部门's head: takes what a cell names only as 办公室
    CLERK = "clerk"  # a unit's 联络员: takes what a cell names nobody in particular for
    ADMIN = "admin"


class AccountRole(Vocab):
    """What an account of the clerk's pages may do: a unit's clerk (单位管理员) acts for
    one unit, the office (巡察办) for all, a viewer only reads."""

    CLERK = "clerk"
    OFFICE = "office"
    VIEWER = "viewer"


# the escalation ladder's roles, bottom to top
LADDER_ROLES: tuple[str, ...] = (Role.OWNER, Role.LEADER, Role.FIRST_RESPONSIBLE, Role.INSPECTION_OFFICE)
# roles a contact may hold: the ladder's, plus a unit's own look-back reviewer and the
# verifier who checks closures asked for from personal links (default: the item's leader)
CONTACT_ROLES: tuple[str, ...] = (*LADDER_ROLES, Role.REVIEWER, Role.VERIFIER, Role.DEPARTMENT_HEAD, Role.CLERK)


class Step(Vocab):
    """The steps of the default reminder ladder (config/rules.toml may name its own)."""

    NOTICE = "notice"
    DUE_SOON = "due_soon"
    DUE = "due"
    OVERDUE = "overdue"
    WARNING = "warning"
    ACCOUNTABILITY = "accountability"


class RequestKind(Vocab):
    EXTENSION = "extension"
    CLOSURE = "closure"


class RequestState(Vocab):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class EventKind(Vocab):
    IMPORTED = "imported"
    UPDATED = "updated"
    STATUS_CHANGED = "status_changed"
    IMPORT_DISAGREES = "import_disagrees"
    IMPORT_UNDONE = "import_undone"
    EXTENDED = "extended"
    NOTIFIED = "notified"
    NOTIFY_FAILED = "notify_failed"
    NOTIFY_DEAD = "notify_dead"
    NOTICE_REQUEUED = "notice_requeued"
    CLOSED = "closed"
    LOOKBACK_ASSIGNED = "lookback_assigned"
    LOOKBACK_CONSOLIDATED = "lookback_consolidated"
    REOPENED = "reopened"
    PROGRESS = "progress"
    REASSIGNED = "reassigned"
    ACKNOWLEDGED = "acknowledged"
    EXTENSION_REQUESTED = "extension_requested"
    CLOSURE_REQUESTED = "closure_requested"
    REQUEST_REJECTED = "request_rejected"
    ROUND_EDITED = "round_edited"
    RENUMBERED = "renumbered"
    UNLISTED = "unlisted"
    RELISTED = "relisted"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"
    MERGED_IN = "merged_in"
    REINSTATED = "reinstated"
    KEPT = "kept"


_LABELS: dict[type[Vocab], dict[Vocab, str]] = {
    ItemState: {ItemState.OPEN: "未完成", ItemState.ONGOING: "阶段性完成", ItemState.DONE: "已完成",
                ItemState.WITHDRAWN: "已撤销", ItemState.MERGED: "已合并"},
    DeadlineKind: {DeadlineKind.IMMEDIATE: "立行立改", DeadlineKind.DATED: "限期整改",
                   DeadlineKind.LONG_TERM: "长期坚持"},
    Light: {Light.RED: "红灯", Light.YELLOW: "黄灯", Light.GREEN: "绿灯", Light.BLUE: "蓝灯"},
    NoticeState: {NoticeState.PENDING: "待发送", NoticeState.SENDING: "发送中", NoticeState.SENT: "已发送",
                  NoticeState.FAILED: "失败待重试", NoticeState.DEAD: "已放弃", NoticeState.CAPPED: "超出提醒上限",
                  NoticeState.HELD: "恢复后暂停"},
    NoticeKind: {NoticeKind.ITEM: "整改提醒", NoticeKind.LOOKBACK: "回头看提醒", NoticeKind.ADMIN: "管理员告警"},
    TaskState: {TaskState.DUE: "待检查", TaskState.DONE: "已完成", TaskState.OVERDUE: "已逾期"},
    Role: {Role.OWNER: "责任人", Role.LEADER: "责任领导", Role.FIRST_RESPONSIBLE: "第一责任人",
           Role.INSPECTION_OFFICE: "巡察办", Role.REVIEWER: "回头看检查人", Role.VERIFIER: "销号核验人",
           Role.DEPARTMENT_HEAD: "部门负责人", Role.CLERK: "单位联络员", Role.ADMIN: "管理员"},
    AccountRole: {AccountRole.CLERK: "单位管理员", AccountRole.OFFICE: "巡察办", AccountRole.VIEWER: "只读"},
    Step: {Step.NOTICE: "督办通知", Step.DUE_SOON: "临期提醒", Step.DUE: "到期提醒", Step.OVERDUE: "逾期催办",
           Step.WARNING: "逾期告诫", Step.ACCOUNTABILITY: "提请问责"},
    RequestKind: {RequestKind.EXTENSION: "延期", RequestKind.CLOSURE: "销号"},
    RequestState: {RequestState.PENDING: "待审批", RequestState.APPROVED: "已批准",
                   RequestState.REJECTED: "已退回"},
    EventKind: {
        EventKind.IMPORTED: "导入", EventKind.UPDATED: "更新", EventKind.STATUS_CHANGED: "状态变更",
        EventKind.IMPORT_DISAGREES: "导入不一致", EventKind.IMPORT_UNDONE: "撤销导入", EventKind.EXTENDED: "延期",
        EventKind.NOTIFIED: "已提醒", EventKind.NOTIFY_FAILED: "提醒失败", EventKind.NOTIFY_DEAD: "提醒放弃",
        EventKind.NOTICE_REQUEUED: "重发通知", EventKind.CLOSED: "销号", EventKind.LOOKBACK_ASSIGNED: "分派回头看",
        EventKind.LOOKBACK_CONSOLIDATED: "回头看：巩固", EventKind.REOPENED: "反弹回潮，重新打开",
        EventKind.PROGRESS: "报送进展", EventKind.REASSIGNED: "人员移交", EventKind.ACKNOWLEDGED: "已阅",
        EventKind.EXTENSION_REQUESTED: "申请延期", EventKind.CLOSURE_REQUESTED: "申请销号",
        EventKind.REQUEST_REJECTED: "申请被退回", EventKind.ROUND_EDITED: "修改轮次",
        EventKind.RENUMBERED: "序号变更", EventKind.UNLISTED: "本次台账未列出", EventKind.RELISTED: "重新列入台账",
        EventKind.WITHDRAWN: "撤销", EventKind.MERGED: "合并", EventKind.MERGED_IN: "并入",
        EventKind.REINSTATED: "恢复", EventKind.KEPT: "确认继续督办"},
}
ROLE_NAMES: Mapping[str, str] = Role.labels()
# what a notice asks of the person it goes to, by their role (a line of each item in a digest)
ASKED: dict[str, str] = {
    Role.OWNER: "请抓紧推进整改，按时报送进展和佐证材料",
    Role.LEADER: "请督促责任部门和责任人按期完成",
    Role.FIRST_RESPONSIBLE: "请督办落实，必要时约谈相关责任人",
    Role.INSPECTION_OFFICE: "请予以督导，研究是否启动问责程序",
    Role.REVIEWER: "请按期完成回头看核查并记录结论",
    Role.ADMIN: "请按提示修复后重发",
}
# the closing line of a digest, addressed to the person's role
CLOSING: dict[str, str] = {
    Role.OWNER: "请按期完成整改，并及时报送整改进展和佐证材料。",
    Role.LEADER: "请切实履行分管责任，督促责任部门和责任人按期完成整改。",
    Role.FIRST_RESPONSIBLE: "请切实履行第一责任人职责，对逾期事项督办落实，必要时约谈相关责任人。",
    Role.INSPECTION_OFFICE: "请予以督导，对逾期未改的事项研究是否启动问责程序。",
    Role.REVIEWER: "请按期完成回头看核查，如实记录“巩固”或“反弹”结论。",
    Role.ADMIN: "请按提示修复联系方式后重发。",
}
# the role a digest speaks to when a person owes things in several, first matching wins
ROLE_RANK = (Role.ADMIN, Role.INSPECTION_OFFICE, Role.FIRST_RESPONSIBLE, Role.LEADER, Role.REVIEWER, Role.OWNER)
_LIGHT_COLORS = {Light.RED: "#c00", Light.YELLOW: "#b80", Light.GREEN: "#080", Light.BLUE: "#06c"}
# a light's name (红灯 … , 无灯 for none) and its one-character form (红 … , blank for none)
LIGHT_NAMES: dict[str | None, str] = {light.value: light.label for light in Light} | {None: NO_LIGHT}
LIGHT_SHORT: dict[str | None, str] = {light.value: light.short for light in Light} | {None: ""}
# a notice's state (待发送 …) and a request's (待审核 …): two vocabularies, two names
NOTICE_STATES: Mapping[str, str] = NoticeState.labels()
REQUEST_STATES: Mapping[str, str] = RequestState.labels()


# --- status wordings: many wordings, three canonical statuses ---------------------
# The original wording is kept beside the code; a word not in the vocabulary is an
# error for the importer to report, never a guess.

OPEN, ONGOING, DONE = ItemState.OPEN, ItemState.ONGOING, ItemState.DONE
ACTIVE = (OPEN, ONGOING)
# what a round leaves out of its counts and reports: withdrawn and merged items
SET_ASIDE = (ItemState.WITHDRAWN, ItemState.MERGED)
# an item's fields as people call them (import diffs, event texts)
FIELD_NAMES: Mapping[str, str] = {
    "title": "问题", "status": "完成情况", "status_text": "完成情况原文", "immediate": DeadlineKind.IMMEDIATE.label,
    "deadline": "整改时限", "deadline_kind": "时限类型", "deadline_text": "整改时限原文", "leader": "责任领导",
    "leader_title": "领导职务", "department": "责任部门", "owner": "责任人", "measures_text": "整改措施",
    "evidence": "佐证材料", "figures": "数字", "extra": "其他列", "no": "序号"}
# the status wordings rectify itself records (a closure, a rebound)
CLOSED_WORDING = "已销号"
REBOUND_WORDING = "反弹回潮，重新整改"
# status -> label, done first: the order reports and lists count them in
LABELS: dict[str, str] = {s: s.label for s in (DONE, ONGOING, OPEN)}


def completion_rate(done: int, counted: int) -> float:
    """完成率: the share of counted items closed, in percent to one decimal (0 when none is
    counted). Every report, page, sheet and audit reads it from here."""
    return round(100 * done / counted, 1) if counted else 0.0


# an import may raise a status (open -> ongoing -> done), never lower what a person recorded
RANK: dict[str, int] = {OPEN: 0, ONGOING: 1, DONE: 2}

VOCABULARY: dict[str, str] = {
    **{w: DONE for w in (
        DONE.label, "完成", "已完成整改", "完成整改", "已整改", "已整改完成", "整改完成",
        CLOSED_WORDING, "销号", "已办结", "办结", "已整改到位", "整改到位", "已落实",
    )},
    **{w: ONGOING for w in (
        ONGOING.label, "阶段性完成整改", "基本完成", "基本完成整改",
        "基本完成取得阶段性成果并持续整改", "基本完成,取得阶段性成果并持续整改",
        "取得阶段性成果", "持续推进", "持续整改", DeadlineKind.LONG_TERM.label, "长期坚持整改", "持续深化",
        "部分整改", "已部分整改", "部分完成", "部分整改到位",
    )},
    **{w: OPEN for w in (
        OPEN.label, "正在整改", "整改中", "未整改", "尚未完成", "未开始", "推进中",
        "正在推进", "未完成整改", "反弹回潮", REBOUND_WORDING,
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
    for words in (first, first.removesuffix("中")):  # 持续推进中, 持续整改中: the wording, in progress
        if words in VOCABULARY:
            return VOCABULARY[words]
    raise UnknownStatus(f"无法识别的完成情况“{text.strip()}”（可用：" + "、".join(LABELS.values()) + "等）")


def template_words() -> dict[str, object]:
    """What templates read as `vocab`: the enums, their labels and the empty light."""
    from rectify_core.refs import label

    return {"ItemState": ItemState, "Light": Light, "DeadlineKind": DeadlineKind, "NO_LIGHT": NO_LIGHT,
            "ref_label": label,
            "status": ItemState.labels(), "light": Light.labels(), "light_short": {m.value: m.short for m in Light},
            "light_choices": [*Light.labels().items(), ("done", ItemState.DONE.label)]}
