"""Word's automatic numbering rendered into the text, as the clerk sees it on screen.

Official templates number 一、（一）1.（1） with list numbering: the paragraph's text has no
number, the number lives in numbering.xml (a level's format, its text such as "（%1）", its
start, and the counters of the levels above). Each numbered paragraph (directly, or through
its style) gets its number written in front, counted in document order, a level restarting
when one above it moves on. Formats rectify does not know fall back to Arabic digits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rectify_core.numerals import cn_number

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
MAX_LEVELS = 9


def _format(n: int, fmt: str) -> str:
    if fmt in ("chineseCounting", "chineseCountingThousand", "taiwaneseCounting", "ideographTraditional",
               "chineseLegalSimplified", "japaneseCounting"):
        return cn_number(n) if n > 0 else str(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese"):
        return CIRCLED[n - 1] if 0 < n <= len(CIRCLED) else str(n)
    if fmt in ("lowerLetter", "upperLetter") and 0 < n <= 26:
        letter = chr(ord("a") + n - 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    return str(n)


@dataclass(frozen=True)
class Level:
    fmt: str
    text: str
    start: int


def _val(element: Any, tag: str) -> str | None:
    found = element.find(W + tag) if element is not None else None
    return found.get(W + "val") if found is not None else None


def _levels(abstract: Any) -> dict[int, Level]:
    out = {}
    for lvl in abstract.findall(W + "lvl"):
        ilvl = int(lvl.get(W + "ilvl", "0"))
        start = _val(lvl, "start")
        out[ilvl] = Level(_val(lvl, "numFmt") or "decimal", _val(lvl, "lvlText") or "", int(start) if
                          start and start.isdigit() else 1)
    return out


class Numbering:
    """The numbering definitions of one document, and the counters as its paragraphs go."""

    def __init__(self, part: Any) -> None:
        self.abstract: dict[str, dict[int, Level]] = {}
        self.nums: dict[str, str] = {}  # numId -> abstractNumId
        self.starts: dict[tuple[str, int], int] = {}  # a num's override of a level's start
        if part is not None:
            root = part.element
            for abstract in root.findall(W + "abstractNum"):
                self.abstract[abstract.get(W + "abstractNumId", "")] = _levels(abstract)
            for num in root.findall(W + "num"):
                num_id = num.get(W + "numId", "")
                self.nums[num_id] = _val(num, "abstractNumId") or ""
                for override in num.findall(W + "lvlOverride"):
                    start = _val(override, "startOverride")
                    if start and start.isdigit():
                        self.starts[(num_id, int(override.get(W + "ilvl", "0")))] = int(start)
        self.counters: dict[str, list[int]] = defaultdict(lambda: [0] * MAX_LEVELS)

    def label(self, num_id: str, ilvl: int) -> str:
        """The number of the next paragraph at (num_id, ilvl), counted on; "" when none."""
        levels = self.abstract.get(self.nums.get(num_id, ""), {})
        level = levels.get(ilvl)
        if level is None or not 0 <= ilvl < MAX_LEVELS or level.fmt == "none" or num_id == "0":
            return ""
        counts = self.counters[self.nums[num_id]]
        first = self.starts.get((num_id, ilvl), level.start)
        counts[ilvl] = first if counts[ilvl] == 0 else counts[ilvl] + 1
        for lower in range(ilvl + 1, MAX_LEVELS):
            counts[lower] = 0  # a level restarts when one above it moves on
        text = level.text
        for n in range(ilvl + 1):
            shown = levels.get(n)
            value = counts[n] or (shown.start if shown else 1)
            text = text.replace(f"%{n + 1}", _format(value, shown.fmt if shown else "decimal"))
        return text


def _num_pr(paragraph: Any) -> tuple[str, int] | None:
    """(numId, ilvl) of a paragraph's own numbering, else its style's (one style up, at most
    a few: a style chain that loops ends)."""
    ppr = paragraph._p.pPr
    num = ppr.numPr if ppr is not None else None
    style, seen = paragraph.style, 0
    while num is None and style is not None and seen < 8:
        spr = style.element.pPr
        num = spr.numPr if spr is not None else None
        style, seen = style.base_style, seen + 1
    if num is None or num.numId is None:
        return None
    ilvl = num.ilvl.val if num.ilvl is not None else 0
    return str(num.numId.val), int(ilvl)


class Numbered:
    """A document's paragraphs and table cells as they show, numbered in document order."""

    def __init__(self, document: Any) -> None:
        try:
            self.part = document.part.numbering_part
        except (KeyError, NotImplementedError, AttributeError):
            self.part = None
        self.numbering = Numbering(self.part)
        self._cells: dict[Any, str] = {}  # a merged cell comes once per row it spans: counted once

    def text(self, paragraph: Any) -> str:
        found = _num_pr(paragraph) if self.part is not None else None
        return (self.numbering.label(*found) if found else "") + str(paragraph.text)

    def cell(self, cell: Any) -> str:
        """A table cell's text, its numbered paragraphs (a 序号 column Word numbers) shown."""
        key = cell._tc  # the element itself (kept alive here), not its id: a proxy's id is reused
        if key not in self._cells:
            self._cells[key] = "\n".join(self.text(p) for p in cell.paragraphs)
        return self._cells[key]


def numbered_texts(document: Any, numbered: Numbered | None = None) -> list[str]:
    """Each paragraph's text (body, in order) with its automatic number in front."""
    numbered = numbered or Numbered(document)
    return [numbered.text(paragraph) for paragraph in document.paragraphs]
