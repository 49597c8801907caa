"""Plans as people and scripts read them: Chinese text and the JSON contract."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from rectify_core import refs
from rectify_core.config.calendar import WorkCalendar, to_local
from rectify_core.deadlines.due import urgency
from rectify_core.deadlines.types import ItemPlan
from rectify_core.delivery.enqueue import Enqueued
from rectify_core.delivery.notify import DeliveryReport
from rectify_core.ledger.models import LookbackTask, Notice
from rectify_core.refs import ref_json
from rectify_core.runs.daily import DayPlan
from rectify_core.vocab import LIGHT_NAMES, NOTICE_STATES, ROLE_NAMES, URGENCY, TaskState


def plan_json(p: ItemPlan) -> dict[str, Any]:
    return {
        **ref_json(p.item.ref),
        "unit": p.item.unit,
        "round": p.item.round_name,
        "round_id": p.item.round_id,
        "title": p.item.title,
        "due": p.due.date.isoformat() if p.due.date else None,
        "due_source": p.due.source,
        "workdays_left": p.workdays_left,
        "light": p.light,
        "estimated": p.estimated,
        "step": p.step,
        "notify": [{"name": r.name, "unit": r.unit, "role": r.role, "reason": r.reason} for r in p.notify],
        "unresolved": list(p.unresolved),
        "next_update": p.next_update.isoformat() if p.next_update else None,
        "problem": p.due.problem,
    }


def _left(p: ItemPlan) -> str:
    if p.workdays_left is None:
        return "—"
    if p.workdays_left < 0:
        return f"逾期{-p.workdays_left}个工作日"
    return "今天到期" if p.workdays_left == 0 else f"剩{p.workdays_left}个工作日"


def check_text(plans: list[ItemPlan], today: dt.date, cal: WorkCalendar) -> str:
    kind = "工作日" if cal.is_workday(today) else "非工作日"
    lines = [f"{today.isoformat()}（{kind}）：未完成与阶段性完成的问题共 {len(plans)} 条"]
    counts = {LIGHT_NAMES[k]: sum(p.light == k for p in plans) for k in URGENCY}
    lines.append("  " + "，".join(f"{k} {v}" for k, v in counts.items() if v))
    several = len({p.item.unit for p in plans}) > 1
    for p in sorted(plans, key=urgency):
        due = p.due.date.isoformat() if p.due.date else "无时限"
        mark = "（估算）" if p.estimated else ""
        step = f"  [{p.step}]" if p.step else ""
        unit = f"{p.item.unit} " if several else ""
        named = refs.label(p.item.ref)
        lines.append(f"{LIGHT_NAMES[p.light]}  {unit}{named}  {due}{mark}  {_left(p)}{step}  {p.item.title}")
        if p.due.problem:
            lines.append(f"      ! {p.due.problem}")
        for r in p.notify:
            lines.append(f"      → 今日提醒 {r.name}（{ROLE_NAMES.get(r.role, r.role)}）：{r.reason}")
        for role in p.unresolved:
            lines.append(f"      ! 找不到{ROLE_NAMES.get(role, role)}：请在台账或 contacts.toml 中补充")
    owed = sum(len(p.notify) for p in plans)
    lines.append(f"今日应发提醒 {owed} 人次（仅计算，未发送）。")
    return "\n".join(lines)


def _estimated_year(p: ItemPlan) -> int | None:
    """The year whose calendar `p` had to estimate (0: some year, without a due date)."""
    if not p.estimated:
        return None
    return p.due.date.year if p.due.date else 0


def estimated_warning(plans: Iterable[ItemPlan]) -> str | None:
    return estimated_years_warning({y for p in plans if (y := _estimated_year(p)) is not None})


def estimated_years_warning(years: set[int]) -> str | None:
    if not years:
        return None
    named = sorted(y for y in years if y)
    which = "、".join(map(str, named)) + " 年" if named else "部分年份"
    return (f"注意：{which}的官方放假安排尚未收录，相关日期按周末和法定节假日估算（标记为估算）；"
            "国务院公布后可在 config/calendar.toml 中补充。")


_string = json.encoder.encode_basestring  # C: the same as json.dumps(s, ensure_ascii=False)


def _ref_head(ref: str) -> str:
    """`"no": 13, "former_no": null, "ref": "13"` (ref_json as text): a sheet's row is its
    number, so the common case is written without a lookup."""
    if ref.isdigit():
        return f'"no": {ref}, "former_no": null, "ref": "{ref}"'
    return json.dumps(ref_json(ref), ensure_ascii=False)[1:-1]


class PlanEncoder:
    """`plan_json` as text, fast: what plans share is encoded once (a round's part; the
    timing parts of plans the planner made from one memo entry, `ItemPlan.shared`), the
    people straight from their strings; the result equals json.dumps(plan_json(p), ensure_ascii=False)."""

    def __init__(self) -> None:
        self._heads: dict[tuple[int, str], str] = {}
        # by the id of the planner's shared entry; the value keeps that entry alive, so its
        # id is never reused while it is a key
        self._timings: dict[int, tuple[str, str, str, object]] = {}
        self._dumps = json.JSONEncoder(ensure_ascii=False).encode
        self.estimated: set[int] = set()  # the years whose calendar the plans encoded had to estimate

    def encode(self, p: ItemPlan) -> str:
        item = p.item
        head = self._heads.get((item.round_id, item.unit))
        if head is None:
            head = self._heads[(item.round_id, item.unit)] = (
                f'"unit": {self._dumps(item.unit)}, "round": {self._dumps(item.round_name)}, '
                f'"round_id": {item.round_id}, "title": ')
        shared = p.shared
        parts = self._timings.get(id(shared)) if shared is not None else None
        if parts is None:
            parts = self._timing(p)
            if shared is not None:
                self._timings[id(shared)] = parts
        people = ", ".join([f'{{"name": {_string(r.name)}, "unit": {_string(r.unit)}, "role": {_string(r.role)}, '
                            f'"reason": {_string(r.reason)}}}' for r in p.notify]) if p.notify else ""
        unresolved = self._dumps(list(p.unresolved)) if p.unresolved else "[]"
        body = f"{parts[0]}{people}{parts[1]}{unresolved}{parts[2]}"
        return f"{{{_ref_head(item.ref)}, {head}{_string(item.title)}, {body}"

    def _timing(self, p: ItemPlan) -> tuple[str, str, str, object]:
        """The JSON around a plan's people and unresolved roles: what its timing decides
        (the estimated year too, noted here)."""
        if (year := _estimated_year(p)) is not None:
            self.estimated.add(year)
        due = p.due
        middle = self._dumps({"due": due.date.isoformat() if due.date else None, "due_source": due.source,
                              "workdays_left": p.workdays_left, "light": p.light, "estimated": p.estimated,
                              "step": p.step})[1:-1]
        tail = self._dumps({"next_update": p.next_update.isoformat() if p.next_update else None,
                            "problem": due.problem})[1:-1]
        return f'{middle}, "notify": [', '], "unresolved": ', f', {tail}}}', p.shared


def dry_run_text(day: DayPlan) -> str:
    """Who would be told what today, grouped by person; nothing written or sent."""
    by_person: dict[tuple[str, str], list[str]] = {}
    for p in sorted(day.plans, key=urgency):
        for r in p.notify:
            named = refs.label(p.item.ref)
            by_person.setdefault((r.unit, r.name), []).append(f"{named}（{p.step}，{LIGHT_NAMES[p.light]}）")
    lines = [f"{day.today.isoformat()} 预演（不写数据库、不发送）："]
    for (unit, name), things in by_person.items():
        contact = day.directory.contact(name, unit)
        how = "、".join(u.split("://", 1)[0] for u in day.directory.urls(contact)) if contact else "未配置渠道"
        lines.append(f"  {name}（{unit}，{how}）：{'；'.join(things)}")
    if not by_person:
        lines.append("  今天没有需要发送的提醒。")
    return "\n".join(lines)


def notify_text(report: DeliveryReport, enqueued: Enqueued) -> str:
    lines = [f"{report.today.isoformat()} 提醒：新计划 {enqueued.inserted} 条"
             + (f"（另有 {enqueued.planned - enqueued.inserted} 条此前已计划）"
                if enqueued.planned > enqueued.inserted else "")]
    if enqueued.capped:
        lines.append(f"  超出每项提醒上限未发：{enqueued.capped} 条")
    if report.settled:
        lines.append(f"  上次中断的运行已发出 {report.settled} 条通知，本次补记为已发送（不重发）")
    if report.recovered:
        lines.append(f"  上次运行中断时未发完的 {report.recovered} 条已重新排队；其中至多 {report.at_risk} 人"
                     "可能收到重复的一条提醒（中断时正在发送的那条）")
    if not report.in_window:
        lines.append(f"  当前不在发送时段内，{report.waiting} 条通知等待下一个发送时段（不会丢失）。")
    several = len({p.unit for p in report.people if p.unit not in ("", "*")}) > 1

    def who(p: Any) -> str:
        return f"{p.name}（{p.unit}）" if several and p.unit not in ("", "*") else p.name

    for p in report.sent:
        lines.append(f"  ✓ {who(p)}：{p.items} 项，经 {p.channel} 发送 {p.messages} 条消息")
    for p in report.failed:
        state = "已放弃" if p.dead else "稍后重试"
        lines.append(f"  ✗ {who(p)}：{p.items} 项发送失败（{state}）：{p.error}")
    if report.admin_alerts:
        lines.append(f"  已通知管理员：{report.admin_alerts} 条通知投递失败")
    if report.in_window and not report.people:
        lines.append("  没有待发送的通知。")
    lines.append(f"合计：成功 {len(report.sent)} 人，失败 {len(report.failed)} 人。")
    return "\n".join(lines)


def notice_json(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "dedup_key": n.dedup_key, "item_id": n.item_id,
            "item_no": n.item.no if n.item.listed else None, "item_ref": n.item.ref,
            "unit": n.item.round.unit.name,
            "recipient": n.recipient, "recipient_unit": n.recipient_unit, "kind": n.kind, "role": n.role,
            "step": n.step_name, "due": n.due.isoformat(),
            "state": n.state, "attempts": n.attempts, "last_error": n.last_error, "channel": n.channel,
            "created_at": to_local(n.created_at).isoformat(),
            "sent_at": to_local(n.sent_at).isoformat() if n.sent_at else None}


TASK_STATES = TaskState.labels()
OUTCOME_NAMES = {"consolidated": "巩固", "rebound": "反弹"}


def task_json(t: LookbackTask, today: dt.date) -> dict[str, Any]:
    state = "overdue" if t.state == "due" and t.due < today else t.state
    return {"id": t.id, **ref_json(t.item.ref), "unit": t.item.round.unit.name, "round_id": t.item.round_id,
            "title": t.item.title,
            "reviewer": t.reviewer, "due": t.due.isoformat(), "state": state,
            "outcome": OUTCOME_NAMES.get(t.outcome or ""), "reasons": t.reasons, "note": t.note}


def lookback_plan_text(data: dict[str, Any]) -> str:
    selected = data["selected"]
    high = sum(s["high_risk"] for s in selected)
    lines = [f"{data['date']} 回头看抽选（种子 {data['seed']}）：共 {len(selected)} 项，其中高风险 {high} 项"]
    for unit in data.get("units", [{"unit": "", "assigned": False, "selected": selected}]):
        if unit["unit"]:
            done = "（当天已分派）" if unit["assigned"] else ""
            lines.append(f"【{unit['unit']}】{len(unit['selected'])} 项{done}")
        for s in unit["selected"]:
            mark = "【高风险】" if s["high_risk"] else ""
            named = refs.label(str(s.get("ref") or s.get("no")))
            lines.append(f"  {named} {mark}{s['title']}（销号 {s['closed_on']}）")
            lines += [f"      - {r['text']}" for r in s["reasons"]]
    return "\n".join(lines)


def lookback_stats_text(data: dict[str, Any]) -> str:
    def row(label: str, d: dict[str, Any]) -> str:
        rate = f"{d['rebound_rate']:.0%}" if d["rebound_rate"] is not None else "—"
        return f"  {label}：检查 {d['checked']}，巩固 {d['consolidated']}，反弹 {d['rebounded']}，反弹率 {rate}"

    lines = ["回头看统计", row("总体", data["overall"]), "按轮次："]
    lines += [row(r["round"], r) for r in data["by_round"]]
    lines.append("按方面：")
    lines += [row(a["aspect"], a) for a in data["by_aspect"]]
    return "\n".join(lines)


def demo_text(summary: dict[str, Any], received: list[Any], mail_dir: Any) -> str:
    lines = [f"本次：新计划提醒 {summary['planned']} 条，发送 {summary['sent_notices']} 条给 "
             f"{summary['sent_people']} 人，失败 {len(summary['failures'])} 人。"]
    for message in received:
        lines.append(f"  ✉ {message['to']}  {message['subject']}")
    if not received:
        lines.append("  （本日提醒此前已发送过：重复运行不会重复发送）")
    lines.append(f"邮件保存在：{mail_dir}（.eml 文件，可用邮件客户端打开）")
    return "\n".join(lines)


def outbox_by_person(notices: list[Notice]) -> str:
    """What the outbox holds, grouped by person: who was told about what."""
    by_person: dict[str, list[str]] = {}
    for n in sorted(notices, key=lambda n: (n.recipient, refs.order(n.item.ref))):
        by_person.setdefault(n.recipient, []).append(f"{n.item.label}（{n.step_name}，{NOTICE_STATES[n.state]}）")
    lines = ["发件箱（按人）："] + [f"  {name}：{'；'.join(things)}" for name, things in by_person.items()]
    return "\n".join(lines) if by_person else "发件箱为空。"
