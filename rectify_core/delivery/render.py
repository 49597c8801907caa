"""Digests: one message per person listing everything they owe, most urgent first.

Templates are Jinja2 macros (header, item, footer) so that a digest too long for a
channel is split between items, never inside one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from rectify_core import vocab
from rectify_core.refs import label
from rectify_core.templating import template
from rectify_core.vocab import ASKED, CLOSING, NO_LIGHT_COLOR, ROLE_NAMES, ROLE_RANK, Light, Role, light_label


@dataclass(frozen=True)
class Line:
    """One thing a person owes, as the digest shows it."""

    ref: str  # 13, or 原13 for an item the sheet no longer lists
    title: str
    round: str
    due: dt.date
    left: int
    light: str | None
    step: str
    role: str
    others: tuple[str, ...]
    note: str = ""  # a handover, or what an admin should fix
    key: tuple[int, int | None] = (0, None)  # (item, look-back task): which notices this line carries
    kind: str = "item"  # item | lookback | admin
    open_ended: bool = False  # a 长期坚持 item: the date is a quarterly progress report
    department: str = ""
    progress: str = ""
    acknowledged: str = ""  # 已阅: who acknowledged it from their link, and when
    unit: str = ""  # the inspected unit the item belongs to

    @property
    def due_label(self) -> str:
        if self.kind == "lookback":
            return "回头看核查期限"
        return "季度进展报送截止" if self.open_ended else "整改时限"

    def left_text(self) -> str:
        if self.left > 0:
            return f"还剩{self.left}个工作日"
        if self.left == 0:
            return "今天截止" if self.open_ended or self.kind == "lookback" else "今天到期"
        return f"已逾期{-self.left}个工作日"

    def context(self, index: int) -> dict[str, Any]:
        name = light_label(self.light, "—")
        color = Light(self.light).color if self.light else NO_LIGHT_COLOR
        return {"index": index, "no": self.ref, "label": label(self.ref), "title": self.title, "round": self.round,
                "due": f"{self.due.year}年{self.due.month}月{self.due.day}日", "due_label": self.due_label,
                "left_text": self.left_text(), "light_name": name, "color": color,
                "step": self.step, "asked": ASKED.get(self.role, "请关注"),
                "role": ROLE_NAMES.get(self.role, self.role), "others": "、".join(self.others),
                "note": self.note, "department": self.department, "progress": self.progress,
                "acknowledged": self.acknowledged, "unit": self.unit}


@dataclass(frozen=True)
class Addressee:
    """Who a digest is for and who signs it."""

    name: str
    title: str | None = None
    role: str = Role.OWNER
    summary: str = ""  # for leaders and first responsibles: everything they answer for
    office: str = "巡察整改工作办公室"
    link: str = ""  # the person's own page (已阅, 报送进展, 申请延期/销号), when the portal is set up

    @property
    def salutation(self) -> str:
        return f"{self.title or ''}{self.name}同志"


def primary_role(roles: list[str]) -> str:
    """The role a digest is addressed to when a person owes things in several."""
    return next((r for r in ROLE_RANK if r in roles), Role.OWNER)


def urgency(line: Line) -> tuple[int, int, tuple[int, int, int]]:
    return vocab.urgency(line.light, line.left, line.ref)


def units_of(lines: list[Line]) -> list[str]:
    return sorted({line.unit for line in lines if line.unit})


def in_order(lines: list[Line]) -> list[Line]:
    """Most urgent first; grouped by unit first when the items are of several units (the
    inspection office, a reviewer)."""
    if len(units_of(lines)) > 1:
        return sorted(lines, key=lambda line: (line.unit, urgency(line)))
    return sorted(lines, key=urgency)


def about(lines: list[Line]) -> str:
    """What the digest is about, for its opening sentence: the one unit, or how many."""
    units = units_of(lines)
    return units[0] if len(units) == 1 else f"{len(units)}个被巡察单位的" if units else ""


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    keys: tuple[tuple[int, int | None], ...] = ()  # the lines it carries


# text from the ledger is data, never markup: each format gets it escaped for itself
_USER_FIELDS = ("title", "round", "step", "others", "note", "department", "progress", "acknowledged", "unit")
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|>~<"})  # each one backslashed
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _plain(text: str) -> str:
    """One line of plain text: control characters and line breaks become a space."""
    return text if _CONTROL.search(text) is None else _CONTROL.sub(" ", text)


def _markdown(text: str) -> str:
    return _plain(text).translate(_MD_SPECIAL)


ESCAPE = {"markdown": _markdown, "text": _plain, "html": _plain}  # html: Jinja autoescapes too


def _escaped(context: dict[str, Any], fmt: str) -> dict[str, Any]:
    esc = ESCAPE.get(fmt, _plain)
    out = dict(context)
    for key in _USER_FIELDS:
        value = out.get(key)
        if value and isinstance(value, str):
            out[key] = esc(value)
    return out


def _title(name: str, lines: list[Line], part: int, parts: int) -> str:
    red = sum(line.light == "red" for line in lines)
    suffix = f"（第{part}/{parts}部分）" if parts > 1 else ""
    return f"【巡察整改督办通知】{name}同志：{len(lines)}项待办" + (f"，其中逾期{red}项" if red else "") + suffix


def render_digest(to: str | Addressee, lines: list[Line], today: dt.date, fmt: str,
                  max_bytes: int = 0) -> list[Message]:
    """The digest (督办通知) for one person in one format, split to fit `max_bytes` (0: no limit)."""
    person = to if isinstance(to, Addressee) else Addressee(to, role=primary_role([line.role for line in lines]))
    ordered = in_order(lines)
    macros = template(f"digest.{fmt}.j2").module
    several_rounds = len({line.round for line in ordered}) > 1
    several_units = len(units_of(ordered)) > 1
    items = [str(macros.item({**_escaped(line.context(i), fmt), "show_round": several_rounds,  # type: ignore[attr-defined]
                              "show_unit": several_units and bool(line.unit)}))
             for i, line in enumerate(ordered, start=1)]
    esc = ESCAPE.get(fmt, _plain)

    def frame(part: int, parts: int) -> tuple[str, str]:
        d = {"name": esc(person.name), "salutation": esc(person.salutation), "summary": esc(person.summary),
             "about": esc(about(ordered)),
             "today": f"{today.year}年{today.month}月{today.day}日", "total": len(ordered),
             "part": part, "parts": parts, "closing": CLOSING.get(person.role, CLOSING[Role.OWNER]),
             "office": esc(person.office), "link": person.link}
        return str(macros.header(d)), str(macros.footer(d))  # type: ignore[attr-defined]

    groups = _pack(list(enumerate(items)), frame, max_bytes)
    messages = []
    for part, group in enumerate(groups, start=1):
        head, foot = frame(part, len(groups))
        messages.append(Message(_title(person.name, ordered, part, len(groups)),
                                "\n".join([head, *(text for _, text in group), foot]),
                                tuple(ordered[i].key for i, _ in group)))
    return messages


def _pack(items: list[tuple[int, str]], frame: Any, max_bytes: int) -> list[list[tuple[int, str]]]:
    """Greedy packing of whole items under the byte limit (frame of the worst case)."""
    if not max_bytes:
        return [items]
    head, foot = frame(99, 99)
    room = max_bytes - len(head.encode()) - len(foot.encode()) - 2
    groups: list[list[tuple[int, str]]] = [[]]
    used = 0
    for index, item in items:
        size = len(item.encode()) + 1
        if groups[-1] and used + size > room:
            groups.append([])
            used = 0
        groups[-1].append((index, item if size <= room else _shorten(item, room)))
        used += min(size, room)
    return groups


def _shorten(item: str, room: int) -> str:
    """Only a single item larger than a whole message is trimmed, at a character edge."""
    data = item.encode()[: max(room - 4, 0)]
    return data.decode(errors="ignore") + "…"


def render_card(to: Addressee, lines: list[Line], today: dt.date, fmt: str, max_bytes: int) -> Message:
    """The digest as one work-notice card (WeCom textcard, DingTalk action_card): the
    most urgent items that fit in `max_bytes`, then 另有N项; the personal link, when there
    is one, as the last line (the card's 办理 button). It carries every line."""
    ordered = sorted(lines, key=urgency)
    esc = ESCAPE.get(fmt, _plain)
    red = sum(line.light == "red" for line in ordered)
    day = f"{today.year}年{today.month}月{today.day}日"
    head = (f"{esc(to.salutation)}：截至{day}，您有{len(ordered)}项{esc(about(ordered))}巡察整改事项待办"
            + (f"，其中逾期{red}项" if red else "") + "。")
    sign = f"——{esc(to.office)}"
    several = len(units_of(ordered)) > 1
    rows = [f"{i}. {esc(line.unit) + ' ' if several else ''}{label(line.ref)} {esc(line.title)}：{line.left_text()}"
            f"（{line.due_label} {line.due.year}年{line.due.month}月{line.due.day}日）"
            for i, line in enumerate(ordered, 1)]
    join = "\n\n" if fmt == "markdown" else "\n"

    def more(rest: int) -> list[str]:
        return [f"另有{rest}项" + ("，请点击“办理”查看全部" if to.link else "")] if rest else []

    kept: list[str] = []
    for n, row in enumerate(rows):
        if kept and len(join.join([head, *kept, row, *more(len(rows) - n - 1), sign]).encode()) > max_bytes:
            break
        kept.append(row)
    body = join.join([head, *kept, *more(len(rows) - len(kept)), sign]) + (f"\n{to.link}" if to.link else "")
    return Message(_title(to.name, ordered, 1, 1), body, tuple(line.key for line in ordered))
