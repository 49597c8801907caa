"""Item fields shared by the report and ledger importers: names, synonyms and how
each field's text becomes typed values."""

from __future__ import annotations

import re
import sys

from rectify_core import vocab as st
from rectify_core.deadlines.datetext import DateTextError, find_dates, find_figures, parse_deadline
from rectify_core.errors import Problem
from rectify_core.importers.parsed import ParsedItem, ParsedMeasure, share_empties
from rectify_core.vocab import DeadlineKind

# canonical field -> labels as units write them (longest first where prefixes overlap)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "no": ("序号", "编号", "问题序号"),
    # the inspected unit, in a county or city office's workbook of many units (one round each)
    "unit": ("被巡察单位", "被巡察党组织", "被巡察党组", "被巡视单位", "被巡视党组织", "单位名称", "单位"),
    "title": ("问题描述", "问题内容", "存在问题", "问题清单", "反馈问题", "问题"),
    "aspect": ("问题类别", "问题类型", "所属方面", "方面"),
    "measures": ("整改情况", "整改措施", "整改举措", "整改内容"),
    "leader": ("责任领导", "牵头领导", "分管领导"),
    "department": ("责任单位", "责任部门", "责任科室", "责任股室", "责任处室", "牵头单位"),
    "owner": ("具体责任人", "责任人"),
    "deadline": ("整改时限", "完成时限", "整改期限"),
    "status": ("完成情况", "整改进展", "整改状态", "进展情况"),
    "evidence": ("佐证材料", "佐证资料"),
}

LABEL_TO_FIELD = {label: name for name, labels in SYNONYMS.items() for label in labels}
# columns rectify's own export computes from its record: read back, they are not the office's
# own columns (kept as `extra`), only what rectify already knows, as of the day it was written
COMPUTED = frozenset({"灯", "剩余工作日", "延期后时限", "销号日期", "核验人", "佐证材料数", "回头看结果"})
# Labels that open a field inside a report item ("问题"/"序号" never do).
REPORT_FIELDS = {k: v for k, v in LABEL_TO_FIELD.items() if v not in ("no", "title", "aspect", "unit")}

_ORDINAL = re.compile(r"(?:^|(?<=[。;；\s]))([一二三四五六七八九十]+)是[,，:：]?")
_LEADER = re.compile(r"^(?P<name>[^()]+?)\s*\((?P<title>[^)]*)\)\s*$")


def _stripped(value: str, original: str) -> tuple[str, str]:
    """The working copy stripped, and the same span of the original (the same objects
    when there is nothing to strip: most cells)."""
    if not value or not (value[0].isspace() or value[-1].isspace()):
        return value, original
    lead = len(value) - len(value.lstrip())
    stripped = value.strip()
    return stripped, original[lead:lead + len(stripped)]


def split_measures(text: str, context_year: int | None, original: str | None = None) -> list[ParsedMeasure]:
    """'一是…二是…' -> one measure each, dated by its first date mention. `text` is the
    working copy; the measures keep the `original` wording (same length)."""
    text, original = _stripped(text, text if original is None else original)
    if not text:
        return []
    marks = list(_ORDINAL.finditer(text))
    spans = [(0, len(text))] if not marks else [
        (m.end(), marks[i + 1].start() if i + 1 < len(marks) else len(text)) for i, m in enumerate(marks)]
    measures: list[ParsedMeasure] = []
    year = context_year
    for a, b in spans:
        part = text[a:b]
        if not part.strip():
            continue
        dates = find_dates(part, year)
        first = dates[0] if dates else None
        if dates:
            year = dates[-1].year
        inner = len(part) - len(part.lstrip())
        measures.append(ParsedMeasure(first.start if first else None, first.end if first else None,
                                      original[a + inner:a + inner + len(part.strip())]))
    return measures


def apply_field(item: ParsedItem, name: str, value: str, context_year: int | None,
                problems: list[Problem], where: str | None = None, original: str | None = None) -> None:
    """Set one field of an item from its text (`value` the working copy, `original` as
    written, the same length); unreadable values become problems reported at `where`
    (the field's own line), else at the item."""
    original = value if original is None or len(original) != len(value) else original
    value, original = _stripped(value, original)
    try:
        _apply(item, name, value, original, context_year)
    except (DateTextError, st.UnknownStatus) as exc:
        problems.append(Problem(where or item.where, f"问题{item.no}：{exc}"))


def _apply(item: ParsedItem, name: str, value: str, original: str, context_year: int | None) -> None:
    if name == "measures":
        item.measures_text = original
        item.measures = split_measures(value, context_year, original)
        item.figures = find_figures(value)
        if DeadlineKind.IMMEDIATE.label in value:
            item.immediate = True
    elif name == "status":
        item.status_text = original
        item.status = st.normalise(value) if value else st.OPEN
    elif name == "leader":
        m = _LEADER.match(value)
        item.leader, item.leader_title = ((sys.intern(original[m.start("name"):m.end("name")].strip()),
                                           sys.intern(original[m.start("title"):m.end("title")]))
                                          if m else (original, None))
    elif name == "deadline":
        item.deadline_text = original
        if value:
            deadline = parse_deadline(value, context_year)
            item.deadline_kind, item.deadline = deadline.kind, deadline.date
            item.immediate = item.immediate or deadline.kind == "immediate" or deadline.immediate
            if deadline.assumed_year is not None and deadline.date is not None:
                item.notes.append(f"问题{item.no}的整改时限“{original}”未写年份，按{deadline.assumed_year}年理解为"
                                  f"{deadline.date.isoformat()}")
    elif name == "evidence":
        cuts = [0, *(i for m in re.finditer(r"[;；\n]", value) for i in (m.start(), m.end())), len(value)]
        item.evidence = [sys.intern(original[a:b].strip()) for a, b in zip(cuts[::2], cuts[1::2], strict=True)
                         if value[a:b].strip()]  # 整改报告, 会议记录: repeated down a ledger, kept once
    elif name in ("department", "owner"):
        setattr(item, name, original or None)


# a status written in brackets after the title: 问题1：…（已完成） 【整改中】 [持续整改]
_BRACKETED_STATUS = re.compile(r"\s*[（(【\[〔]\s*([^（()）【】\[\]〔〕]{2,20}?)\s*[）)】\]〕]\s*[。.]?\s*$")


def status_in_title(item: ParsedItem) -> None:
    """A title ending in a bracketed status gives the item its status (when nothing else
    did) and is stored without it."""
    found = _BRACKETED_STATUS.search(item.title)
    if found is None:
        return
    try:
        status = st.normalise(found[1])
    except st.UnknownStatus:
        return
    if not item.status_text:
        item.status, item.status_text = status, found[1]
    item.title = item.title[:found.start()].rstrip()


# a status said in the text of a prose item: …目前已完成整改。 …现正在整改。
_STATUS_SAID = re.compile(r"(?:截至目前|目前|现已|已经|现在|现)\s*[,，]?\s*("
                          + "|".join(map(re.escape, sorted(st.VOCABULARY, key=len, reverse=True))) + ")")


def status_in_text(item: ParsedItem) -> None:
    """An item with no 完成情况 that says where it stands in its text takes that status."""
    if item.status_text:
        return
    said = list(_STATUS_SAID.finditer(item.measures_text or ""))
    if said:
        item.status, item.status_text = st.normalise(said[-1][1]), said[-1][1]


def finish_item(item: ParsedItem) -> None:
    """Derived fields once all of an item's text is in."""
    status_in_title(item)
    status_in_text(item)
    if DeadlineKind.IMMEDIATE.label in item.title:
        item.immediate = True
    if item.deadline_kind is None and item.immediate:
        item.deadline_kind = "immediate"
    if not item.status_text:
        item.status = st.OPEN
    share_empties(item)
