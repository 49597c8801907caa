"""Digests: one message per person listing everything they owe, most urgent first.

Templates are Jinja2 macros (header, item, footer) so that a digest too long for a
channel is split between items, never inside one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rectify_core.rules import ROLE_NAMES

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True)

LIGHTS = {"red": ("红灯", "#c00"), "yellow": ("黄灯", "#b80"), "green": ("绿灯", "#080"),
          "blue": ("蓝灯", "#06c"), None: ("—", "#666")}
ASKED = {
    "owner": "请抓紧推进整改，按时报送进展和佐证材料",
    "leader": "请督促责任部门和责任人按期完成",
    "first_responsible": "请督办落实，必要时约谈相关责任人",
    "inspection_office": "请予以督导，研究是否启动问责程序",
    "reviewer": "请按时完成回头看检查并记录结论",
    "admin": "请按提示修复后重发",
}


@dataclass(frozen=True)
class Line:
    """One thing a person owes, as the digest shows it."""

    no: int
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

    def context(self, index: int) -> dict[str, Any]:
        name, color = LIGHTS[self.light]
        left = (f"还剩{self.left}个工作日" if self.left > 0 else "今天到期" if self.left == 0
                else f"已逾期{-self.left}个工作日")
        return {"index": index, "no": self.no, "title": self.title, "round": self.round,
                "due": self.due.isoformat(), "left_text": left, "light_name": name, "color": color,
                "step": self.step, "asked": ASKED.get(self.role, "请关注"),
                "role": ROLE_NAMES.get(self.role, self.role), "others": "、".join(self.others),
                "note": self.note}


def urgency(line: Line) -> tuple[int, int, int]:
    order = {"red": 0, "yellow": 1, "green": 2, "blue": 3, None: 4}
    return order[line.light], line.left, line.no


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    keys: tuple[tuple[int, int | None], ...] = ()  # the lines it carries


# text from the ledger is data, never markup: each format gets it escaped for itself
_USER_FIELDS = ("title", "round", "step", "others", "note")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _plain(text: str) -> str:
    """One line of plain text: control characters and line breaks become a space."""
    return _CONTROL.sub(" ", text)


def _markdown(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", _plain(text))


ESCAPE = {"markdown": _markdown, "text": _plain, "html": _plain}  # html: Jinja autoescapes too


def _escaped(context: dict[str, Any], fmt: str) -> dict[str, Any]:
    esc = ESCAPE.get(fmt, _plain)
    return {k: esc(v) if k in _USER_FIELDS and isinstance(v, str) else v for k, v in context.items()}


def _title(name: str, lines: list[Line], part: int, parts: int) -> str:
    red = sum(line.light == "red" for line in lines)
    suffix = f"（第{part}/{parts}部分）" if parts > 1 else ""
    return f"【巡察整改提醒】{name}：{len(lines)}项待办" + (f"，其中逾期{red}项" if red else "") + suffix


def render_digest(name: str, lines: list[Line], today: dt.date, fmt: str, max_bytes: int = 0) -> list[Message]:
    """The digest for one person in one format, split to fit `max_bytes` (0: no limit)."""
    ordered = sorted(lines, key=urgency)
    macros = _env.get_template(f"digest.{fmt}.j2").module
    items = [str(macros.item(_escaped(line.context(i), fmt)))  # type: ignore[attr-defined]
             for i, line in enumerate(ordered, start=1)]

    def frame(part: int, parts: int) -> tuple[str, str]:
        d = {"name": ESCAPE.get(fmt, _plain)(name), "today": today.isoformat(), "total": len(ordered),
             "part": part, "parts": parts}
        return str(macros.header(d)), str(macros.footer(d))  # type: ignore[attr-defined]

    groups = _pack(list(enumerate(items)), frame, max_bytes)
    messages = []
    for part, group in enumerate(groups, start=1):
        head, foot = frame(part, len(groups))
        messages.append(Message(_title(name, ordered, part, len(groups)),
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
