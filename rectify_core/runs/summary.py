"""What a supervisor reads after each daily run: counts by light, overdue items,
escalations made, failures. Built from the run's results and the database."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core.deadlines.due import left_text
from rectify_core.delivery.notify import DeliveryReport
from rectify_core.delivery.outbox import ESCALATION_ROLES, SENT
from rectify_core.ledger.models import Item, LookbackSweep, LookbackTask, Notice
from rectify_core.refs import label, ref_json
from rectify_core.runs.daily import DayTally
from rectify_core.vocab import LIGHT_NAMES, ROLE_NAMES


@dataclass
class DaySummary:
    today: str
    unit: str | None
    items: int
    lights: dict[str, int]
    overdue: list[dict[str, Any]]
    planned: int
    sent_people: int
    sent_notices: int
    escalations: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    waiting: int
    recovered: int
    lookbacks: int = 0
    at_risk: int = 0  # people whose digest may come twice after an interrupted run
    by_light: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the most urgent few per light
    extra: dict[str, Any] = field(default_factory=dict)
    settled: int = 0  # notices an interrupted run had sent, recorded as sent by this one

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SHOWN = 10  # rows per light in the artifact: it stays a page however large the ledger
OVERDUE_SHOWN = 50


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _row(p: Any) -> dict[str, Any]:
    return {**ref_json(p.item.ref), "round": short(p.item.round_name, 12), "title": short(p.item.title, 30),
            "owner": p.item.owner or "", "leader": p.item.leader or "", "department": p.item.department or "",
            "due": p.due.date.isoformat() if p.due.date else None, "left": p.workdays_left}


def summarize(day: DayTally, report: DeliveryReport, unit: str | None, *, session: Session) -> DaySummary:
    lights = {k or "none": day.lights.get(k, 0) for k in ("red", "yellow", "green", "blue", None)}
    overdue = [{**ref_json(p.item.ref), "round": p.item.round_name, "title": p.item.title,
                "due": p.due.date.isoformat() if p.due.date else None, "overdue_workdays": -(p.workdays_left or 0),
                "step": p.step} for p in day.top.get("red", [])[:OVERDUE_SHOWN]]
    by_light = {k: [_row(p) for p in day.top.get(k, [])[:SHOWN]] for k in ("red", "yellow", "green", "blue")}
    sent = session.execute(select(Notice.recipient, Notice.role, Item.ref).join(Item, Notice.item_id == Item.id)
                           .where(Notice.state == SENT, Notice.claimed_by == report.token)).all()
    escalations = [{"recipient": r, "role": role, **ref_json(ref)} for r, role, ref in sent if role in ESCALATION_ROLES]
    failures = [{"recipient": p.name, "items": p.items, "dead": p.dead, "error": p.error} for p in report.failed]
    lookbacks = session.scalar(select(func.count()).select_from(LookbackTask).join(LookbackSweep)
                               .where(LookbackSweep.run_on == day.today)) or 0
    return DaySummary(day.today.isoformat(), unit, day.items, lights, overdue, day.inserted,
                      len(report.sent), len(sent), escalations, failures, report.waiting, report.recovered,
                      lookbacks, report.at_risk, {k: v for k, v in by_light.items() if v}, settled=report.settled)


def markdown(s: DaySummary) -> str:
    scope = f"（{s.unit}）" if s.unit else ""
    lines = [f"# 巡察整改每日提醒 {s.today}{scope}", "",
             f"未完成与阶段性完成问题 **{s.items}** 项：" + "，".join(
                 f"{LIGHT_NAMES[None if k == 'none' else k]} {v}" for k, v in s.lights.items() if v), "",
             f"本次新计划提醒 {s.planned} 条；已发送 {s.sent_notices} 条，涉及 {s.sent_people} 人。"]
    if s.waiting:
        lines.append(f"不在发送时段，{s.waiting} 条等待下一个发送时段。")
    if note := s.extra.get("calendar"):
        lines.append(f"注意：{note}。")
    if s.settled:
        lines.append(f"上次中断的运行已发出 {s.settled} 条通知，本次补记为已发送（不重发）。")
    if s.recovered:
        lines.append(f"上次中断时未发完的 {s.recovered} 条已重新排队，其中至多 {s.at_risk} 人可能收到重复的一条。")
    several = len({r["round"] for rows in s.by_light.values() for r in rows}) > 1
    for light, rows in s.by_light.items():
        count = s.lights.get(light, 0)
        more = f"，列出最紧急的 {len(rows)} 项" if count > len(rows) else ""
        # few, short columns: the table fits the artifact's page
        lines += ["", f"## {LIGHT_NAMES[light]}（{count} 项{more}）", "",
                  "| 问题 | " + ("轮次 | " if several else "") + "责任人 | 时限 | 剩余 |",
                  "|---|" + ("---|" if several else "") + "---|---|---|"]
        lines += [f"| {label(r['ref'])}：{_cell(r['title'])} | " + (f"{_cell(r['round'])} | " if several else "")
                  + f"{_cell(r['owner'] or r['leader'])} | {r['due'] or ''} | {left_text(r['left'])} |" for r in rows]
    if s.escalations:
        lines += ["", "## 本次升级督办", ""]
        lines += [f"- {label(e['ref'])} → {e['recipient']}（{ROLE_NAMES.get(e['role'], e['role'])}）"
                  for e in s.escalations]
    if s.failures:
        lines += ["", "## 发送失败", ""]
        lines += [f"- {f['recipient']}：{f['items']} 项，{'已放弃' if f['dead'] else '稍后重试'}：{f['error']}"
                  for f in s.failures]
    lines += ["", f"回头看任务：本次分派 {s.lookbacks} 项。"]
    if (kept := s.extra.get("backup")) is not None:
        lines += ["", backup_line(kept)]
    return "\n".join(lines)


def backup_line(kept: dict[str, Any]) -> str:
    if "error" in kept:
        return f"**备份失败**：{kept['error']}（明天的运行会再试；也可手动运行 rectify backup）"
    gone = f"，删除较早的 {len(kept['removed'])} 份" if kept["removed"] else ""
    lost = f"；{len(kept['missing'])} 个文件已找不到，未能备份" if kept["missing"] else ""
    return (f"备份：{kept['path']}（{kept['items']} 个问题，文件 {kept['files']} 个；保留最近 {kept['keep']} 份"
            f"{gone}{lost}）")


def _cell(text: str) -> str:
    """Ledger text inside a Markdown table cell: no pipes or line breaks."""
    return text.replace("|", "｜").replace("\n", " ")
