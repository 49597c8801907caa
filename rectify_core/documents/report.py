"""整改进展情况报告: the office's progress report, generated from the ledger.

One list of paragraphs, each with its role (title, heading levels, body, item fields,
signature), written as plain text, Markdown or Word. The text is shaped so that
rectify's own report importer reads it back to the same items, statuses, deadlines and
leaders, and `audit` finds its summary consistent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rectify_core.ledger.view import RoundView, Row
from rectify_core.numerals import CN, cn_number
from rectify_core.refs import label
from rectify_core.vocab import DeadlineKind, ItemState


@dataclass(frozen=True)
class Para:
    role: str  # title | body | h1 | h2 | h3 | item | field | signature | table
    text: str
    rows: tuple[tuple[str, ...], ...] = ()  # a table's rows, the first its header


# numbering a heading already carries (一、 （二） 3. ①): the report numbers headings itself
_NUMBERED = re.compile(r"^\s*(?:[（(]\s*[一二三四五六七八九十百\d]+\s*[)）]|[一二三四五六七八九十百]+\s*[、.．]|"
                       r"\d+\s*[、.．]|[①-⑳])\s*")


def heading(title: str) -> str:
    """A heading's text without the numbering it was written with."""
    return _NUMBERED.sub("", title, count=1) or title


def day_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def org_of(unit: str) -> str:
    """The unit as it signs: 中共 before it, once."""
    return unit if unit.startswith("中共") else f"中共{unit}"


def _deadline(row: Row) -> str:
    if row.deadline_kind == DeadlineKind.IMMEDIATE:
        return DeadlineKind.IMMEDIATE.label
    if row.deadline_kind == DeadlineKind.LONG_TERM and row.deadline is None:
        return DeadlineKind.LONG_TERM.label
    if row.deadline is not None:
        return day_text(row.deadline)
    return row.deadline_text or "未明确"


def _measures(row: Row) -> str:
    text = row.measures.strip()
    if text and not text.endswith(("。", "；", ";", "！")):
        text += "。"
    if row.rebound:
        closed, reopened = row.rebound
        text += (f"该问题曾于{day_text(closed)}销号，" + (f"{day_text(reopened)}" if reopened else "后")
                 + f"经“回头看”发现反弹回潮，已重新整改（反弹{row.rebound_count}次）。")
    if row.extended_to:
        text += f"经批准，整改时限延至{day_text(row.extended_to)}。"
    if row.progress:
        when = f"{day_text(row.progress_on)}，" if row.progress_on else ""
        text += f"{when}{row.progress.rstrip('。')}。"
    if row.closed_on and row.status == ItemState.DONE and row.verified_by:
        text += f"{day_text(row.closed_on)}经核验销号。"
    return text or "正在推进。"




def summary_sentence(view: RoundView) -> str:
    done, ongoing, open_ = (view.count(ItemState.DONE), view.count(ItemState.ONGOING),
                            view.count(ItemState.OPEN))
    immediate = sum(r.immediate for r in view.rows)
    aspects = len({view.aspect_of.get(r.ref) for r in view.rows} - {None})
    aside = len(view.unlisted)
    text = (f"截至{day_text(view.as_of)}，巡察反馈的" + (f"{aspects}个方面" if aspects else "")
            + f"{len(view.rows)}个问题"
            + (f"（含本次台账未列出、仍在跟踪的{aside}个）" if aside else "")
            + (f"（其中{DeadlineKind.IMMEDIATE.label}问题{immediate}个）" if immediate else "")
            + f"，已完成整改{done}个")
    if ongoing:
        text += f"，阶段性完成{ongoing}个"
    if open_:
        text += f"，正在整改{open_}个"
    return text + f"，整改完成率{view.rate:g}%。"


def preamble(view: RoundView, closing: str = "现将巡察整改进展情况报告如下。") -> str:
    group = view.inspector or "巡察组"
    parts = []
    if view.inspection_start and view.inspection_end:
        parts.append(f"{day_text(view.inspection_start)}至{day_text(view.inspection_end)}，{group}对{view.unit}"
                     "开展了巡察。")
    if view.feedback_date:
        parts.append(f"{day_text(view.feedback_date)}，{group}向{view.unit}反馈了巡察意见。")
    return "".join(parts) + "按照巡察整改工作有关要求，" + closing


def problems(view: RoundView) -> list[Para]:
    """The aspects, topics and problems of the latest sheet, each problem with its fields."""
    out: list[Para] = []
    by_aspect: dict[int | None, list[Row]] = {}
    for row in view.listed:
        by_aspect.setdefault(view.aspect_of.get(row.ref), []).append(row)
    titles = dict(view.aspects)
    topic_titles = {no: title for no, _, title in view.topics}
    for aspect_no in [a for a, _ in view.aspects] + ([None] if None in by_aspect else []):
        rows = by_aspect.get(aspect_no, [])
        if not rows:
            continue
        if aspect_no is not None:
            out.append(Para("h2", f"（{cn_number(aspect_no)}）{heading(titles[aspect_no])}"))
        topic = None
        for row in rows:
            t = view.topic_of.get(row.ref)
            if t is not None and t != topic and t in topic_titles:
                out.append(Para("h3", f"{t}.{heading(topic_titles[t])}"))
            topic = t
            out += _item(row)
    return out


def _item(row: Row) -> list[Para]:
    fields = [Para("item", f"{row.label}：{row.title}"), Para("field", f"整改情况：{_measures(row)}")]
    if row.leader:
        title = f"（{row.leader_title}）" if row.leader_title else ""
        fields.append(Para("field", f"责任领导：{row.leader}{title}"))
    if row.department:
        fields.append(Para("field", f"责任部门：{row.department}"))
    if row.owner:
        fields.append(Para("field", f"责任人：{row.owner}"))
    fields.append(Para("field", f"整改时限：{_deadline(row)}"))
    fields.append(Para("field", f"完成情况：{ItemState(row.status).label}"))
    return fields


def _short(title: str, size: int = 12) -> str:
    return title if len(title) <= size else title[:size] + "…"


def _next_steps(view: RoundView) -> list[Para]:
    pending = [r for r in view.rows if r.status != ItemState.DONE]
    late = [r for r in pending if r.light == "red"]
    coming = sorted((r for r in pending if r.light != "red" and r.due is not None), key=lambda r: r.due or dt.date.max)
    texts = []
    if pending:
        nos = "、".join(r.label for r in pending[:12]) + ("等" if len(pending) > 12 else "")
        texts.append(f"对尚未完成的{len(pending)}个问题（{nos}）紧盯不放，明确时间表和责任人，按期完成整改并及时报送进展。")
    if late:
        named = "；".join(f"{r.label}“{_short(r.title)}”" for r in late[:10]) + ("等" if len(late) > 10 else "")
        texts.append(f"对已超过整改时限的{len(late)}个问题（{named}），由责任领导督促推进，逐项分析原因，确保尽快销号。")
    if coming:
        named = "；".join(f"{r.label}，{day_text(r.due)}到期" for r in coming[:5] if r.due)
        texts.append(f"对近期到期的问题提前督办，确保按期完成：{named}。")
    texts.append("坚持问题导向，对已完成整改的问题开展“回头看”，巩固整改成果，严防问题反弹回潮。")
    return [Para("body", f"{CN[n]}是{text}") for n, text in enumerate(texts)]


def _aside(view: RoundView) -> list[Para]:
    """One sentence for each item withdrawn or merged, with the reason recorded."""
    out = []
    for ref, title, state, reason, into in view.set_aside:
        why = f"，理由：{reason.rstrip('。')}" if reason else ""
        if state == ItemState.MERGED:
            out.append(Para("body", f"{label(ref)}“{_short(title, 20)}”已并入{label(into) if into else '其他问题'}"
                                    f"一并整改{why}。"))
        else:
            out.append(Para("body", f"{label(ref)}“{_short(title, 20)}”已撤销，不再列入整改{why}。"))
    return out


def build(view: RoundView) -> list[Para]:
    """The report as paragraphs with their roles."""
    org = org_of(view.unit)
    paras = [Para("title", f"{org}关于巡察整改进展情况的报告"), Para("body", preamble(view)),
             Para("h1", "一、总体情况"), Para("body", summary_sentence(view))]
    if view.first_responsible:
        paras.append(Para("body", f"党组书记{view.first_responsible}同志切实履行巡察整改第一责任人责任，"
                                  "对整改工作亲自部署、亲自督办。"))
    paras.append(Para("h1", "二、问题整改情况"))
    paras += problems(view)
    if view.unlisted:
        listed = "；".join(f"{r.title}（{r.ref}，{ItemState.label_of(r.status)}）" for r in view.unlisted)
        paras.append(Para("body", f"另有{len(view.unlisted)}个问题本次台账未列出，仍按原记录跟踪：{listed}。"))
    paras += _aside(view)
    paras.append(Para("h1", "三、下一步工作"))
    paras += _next_steps(view)
    paras += [Para("signature", org), Para("signature", day_text(view.as_of))]
    return paras


_TITLE_BREAKS = ("关于", "巡察整改", "进展情况", "情况的报告", "的报告")
TITLE_LINE = 18  # characters of 二号 on a line of the GB/T 9704 text block, with room to spare


def title_lines(title: str, width: int = TITLE_LINE) -> list[str]:
    """The title in lines that break between words (GB/T 9704: a long title in several
    lines, never a word cut), whatever font a reader substitutes: before 关于 first, then a
    line too long is broken before the last of its known phrases that fits."""
    lines = [part for part in re.split(r"(?=关于)", title) if part]
    out: list[str] = []
    for line in lines:
        while len(line) > width:
            cut = max((line.rfind(word, 1, width + 1) for word in _TITLE_BREAKS), default=-1)
            cut = cut if cut > 0 else width
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def as_text(paras: list[Para]) -> str:
    return "\n".join("\n".join("  ".join(r) for r in p.rows) if p.role == "table" else p.text for p in paras) + "\n"


def as_markdown(paras: list[Para]) -> str:
    prefix = {"title": "# ", "h1": "## ", "h2": "### ", "h3": "#### ", "item": "**"}
    lines = []
    for p in paras:
        if p.role == "table" and p.rows:
            lines += ["| " + " | ".join(p.rows[0]) + " |", "|" + "---|" * len(p.rows[0])]
            lines += ["| " + " | ".join(r) + " |" for r in p.rows[1:]] + [""]
            continue
        text = prefix.get(p.role, "") + p.text + ("**" if p.role == "item" else "")
        lines.append(f"<p align=\"right\">{p.text}</p>" if p.role == "signature" else text)
        lines.append("")
    return "\n".join(lines)
