"""Consistency audit of a report: do the summary's claims match the items?

Pure: takes a ParsedLedger, returns claims and findings. No database.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rectify_core.config.people import split_names
from rectify_core.deadlines.datetext import cn_int
from rectify_core.importers.parsed import ParsedHeading, ParsedLedger
from rectify_core.names import looks_like_title, not_people
from rectify_core.vocab import DONE, LABELS, ONGOING, OPEN, VOCABULARY, DeadlineKind, completion_rate

IMMEDIATE = DeadlineKind.IMMEDIATE.label
N = r"([\d一二三四五六七八九十百零两]+)"
CLAIMS: dict[str, re.Pattern[str]] = {
    "aspects": re.compile(N + r"个方面"),
    "items": re.compile(N + r"个(?:反馈)?问题|(?:反馈|发现|指出)(?:的)?问题共?" + N + "个"),
    "immediate": re.compile(DeadlineKind.IMMEDIATE.label + r"(?:问题)?" + N + "个"),
}
# the summary's status counts, worded as items word their status: one table (vocab.VOCABULARY)
# for both, longest wording first (阶段性完成 before 完成); 已整改到位7个、持续整改2个、长期坚持1个
_WORDINGS = sorted({w.replace(",", "[,，、]?") for w in VOCABULARY} | {"已销号"}, key=len, reverse=True)
STATUS_CLAIM = re.compile(r"(?P<word>" + "|".join(_WORDINGS) + r")(?:的)?(?:问题)?" + N + "个")
RATE = re.compile(r"完成率\s*(\d+(?:\.\d+)?)\s*%")
NAMES = {"aspects": "方面", "items": "问题", "done": LABELS[DONE], "ongoing": LABELS[ONGOING],
         "open": LABELS[OPEN], "immediate": DeadlineKind.IMMEDIATE.label + "问题"}


@dataclass
class Audit:
    claims: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, str]] = field(default_factory=list)

    def add(self, kind: str, message: str) -> None:
        self.findings.append({"kind": kind, "message": message})

    def as_json(self) -> dict[str, Any]:
        return {"claims": self.claims, "actual": self.actual, "findings": self.findings}


# a report that says it lists only some of the problems (the unfinished ones)
LISTS_SOME = re.compile(r"不再逐项列出|不再一一列出|仅列出|只列出|未完成的问题如下")


def read_claims(summary: list[tuple[int, str]]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    for _, text in summary:
        for name, pattern in CLAIMS.items():
            if name not in claims and (m := pattern.search(text)):
                claims[name] = cn_int(next(g for g in m.groups() if g))
        counted: dict[str, int] = {}  # within one sentence, wordings of one status add up
        for m in STATUS_CLAIM.finditer(text):
            status = VOCABULARY.get(re.sub(r"[,，、]", ",", m["word"]), VOCABULARY.get(m["word"], DONE))
            counted[status] = counted.get(status, 0) + cn_int(m[2])
        claims.update((status, n) for status, n in counted.items() if status not in claims)
        if "rate" not in claims and (m := RATE.search(text)):
            claims["rate"] = float(m[1])
    if summary:
        claims["text"] = " ".join(t for _, t in summary)
    return claims


def _numbers(nos: list[int]) -> str:
    return "、".join(f"问题{n}" if i == 0 else str(n) for i, n in enumerate(nos))


def _actual(ledger: ParsedLedger) -> dict[str, Any]:
    items = ledger.items
    by_status: dict[str, int] = {s: sum(i.status == s for i in items) for s in (DONE, ONGOING, OPEN)}
    return {"aspects": len(ledger.aspects), "items": len(items), **by_status,
            "immediate": sum(i.immediate for i in items),
            "rate": completion_rate(by_status[DONE], len(items))}


def _compare(audit: Audit, ledger: ParsedLedger) -> None:
    if OPEN in audit.claims and ONGOING not in audit.claims and audit.actual[ONGOING]:
        # "已完成7个，正在整改3个": a summary that does not tell 阶段性完成 from 未完成 counts
        # everything not yet done as 正在整改
        audit.actual = {**audit.actual, OPEN: audit.actual[OPEN] + audit.actual[ONGOING]}
    some = bool(LISTS_SOME.search(audit.claims.get("text", "")))
    for name, label in NAMES.items():
        claimed, actual = audit.claims.get(name), audit.actual[name]
        if claimed is None or claimed == actual or (some and name in ("items", DONE, "rate", "aspects")):
            continue  # (a report that lists only the unfinished: the totals and the done are not in it)
        message = f"摘要称{label}{claimed}个，但正文中有{actual}个"
        if name == "immediate":
            nos = [i.no for i in ledger.items if i.immediate]
            message = f"摘要称{IMMEDIATE}问题{claimed}个，但正文标注{IMMEDIATE}的有{actual}个：{_numbers(nos)}"
        elif name in (DONE, ONGOING, OPEN):
            nos = [i.no for i in ledger.items if i.status == name]
            message += f"（{_numbers(nos)}）" if 0 < len(nos) <= 10 else ""
        audit.add(f"count_{name}", message)
    rate = audit.claims.get("rate")
    if rate is not None and not some and abs(rate - audit.actual["rate"]) >= 1:
        audit.add("count_rate", f"摘要称整改完成率{rate:g}%，按正文计算为{audit.actual['rate']:g}%")


def _same_titles(audit: Audit, headings: list[ParsedHeading], what: str) -> None:
    groups: dict[str, list[ParsedHeading]] = defaultdict(list)
    for h in headings:
        groups[h.title].append(h)
    for title, hs in groups.items():
        if len(hs) > 1:
            labels = "、".join(h.label for h in hs)
            audit.add(f"duplicate_{what}", f"第{labels}{'方面' if what == 'aspect' else '项'}"
                                           f"标题相同：“{title}”")


def _numbering(audit: Audit, ledger: ParsedLedger) -> None:
    nos = [i.no for i in ledger.items]
    if not nos:
        return
    missing = sorted(set(range(1, max(nos) + 1)) - set(nos))
    if missing:
        audit.add("numbering", f"问题编号不连续，缺少：{'、'.join(map(str, missing))}")
    for item in ledger.items:
        if not item.status_text:
            audit.add("missing_status", f"问题{item.no}未注明完成情况（按未完成处理）")
        if item.status == DONE and not item.measures:
            audit.add("missing_measures", f"问题{item.no}标为已完成，但没有写明整改情况")


def audit_ledger(ledger: ParsedLedger) -> Audit:
    audit = Audit(claims=read_claims(ledger.summary), actual=_actual(ledger))
    if not ledger.summary:
        audit.add("no_summary", "未找到总体情况的概述句（如“反馈的N个问题，已完成整改M个”），无法核对数字")
    _compare(audit, ledger)
    _same_titles(audit, ledger.aspects, "aspect")
    _same_titles(audit, ledger.topics, "topic")
    _numbering(audit, ledger)
    for line, text in ledger.refused_names:
        audit.add("not_a_name", f"第{line}行提到第一责任人，但“{text}”中没有可识别的姓名（未记录第一责任人）")
    _people(audit, ledger)
    return audit


def _people(audit: Audit, ledger: ParsedLedger) -> None:
    """Owners and leaders that name no person: a department (办公室), a title (分管副局长)
    or a title fragment. Reminders for them go to the department's head or the unit's
    clerk (contacts.toml), never to the text itself."""
    for item in ledger.items:
        for label, value in (("责任领导", item.leader), ("责任人", item.owner)):
            for named in not_people(value):
                what = "部门" if named.kind == "department" else "职务"
                audit.add("not_a_person", f"问题{item.no}的{label}“{named.text}”是{what}，不是具体人员"
                                          "（提醒将发给该部门负责人或单位联络员，请在 contacts.toml 中设置，"
                                          "或在台账中写明姓名）")
            for name in split_names(value):
                if looks_like_title(name):
                    audit.add("not_a_name", f"问题{item.no}的{label}“{name}”不是姓名（提醒无法送达个人）")
