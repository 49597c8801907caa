"""回头看: re-checking closed items so they do not slide back (反弹回潮).

Selection is explained: every selected item carries its reasons. A quarterly sweep
takes every high-risk item, every item whose scheduled re-check (months after
closure) has come, and a seeded random share of the rest; the seed and the selection
are recorded so the sweep can be reproduced.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from rectify_core.config.calendar import WorkCalendar, local_today
from rectify_core.config.people import Directory
from rectify_core.config.rules import Rules
from rectify_core.deadlines.due import add_months
from rectify_core.errors import RefusedError
from rectify_core.ledger import rebounds
from rectify_core.ledger.act import Act, Terms
from rectify_core.ledger.models import Aspect, Closure, Event, Item, LookbackSweep, LookbackTask, Round, Unit
from rectify_core.refs import ref_json
from rectify_core.vocab import DONE, Role, TaskState

OUTCOMES = {"巩固": "consolidated", "反弹": "rebound"}
HIGH_RISK = ("transfer", "paper_only", "aspect_rebound", "earlier_rebound", "late")
_TRANSFER = re.compile(r"已移交|移交(?:给|至|到)?[^，,。；;]{0,12}(?:负责|处理|办理|处置)")
_PAPER = re.compile(r"学习|研究|制定|健全|完善|出台|印发|建立|修订|召开[^，,。]{0,12}会")
_CONCRETE = re.compile(r"追回|清退|退还|退回|补登|盘点|清查|查处|处分|问责|约谈|拆除|腾退|收回|维修|检修|整治|"
                       r"检查|督查|培训|谈话|调整|派驻|完成|开展[^，,。]{0,6}(?:行动|执法|检查)")
_ASPECT_REBOUND = re.compile(r"反弹|回潮|整改不彻底|上轮")


@dataclass(frozen=True)
class Candidate:
    item_id: int
    ref: str  # how people name the item (13, 原13)
    round_id: int
    round_name: str
    unit: str
    title: str
    aspect: str | None
    measures: str
    closure_id: int | None
    closed_on: dt.date
    evidence_recorded: bool
    late: bool
    rebound_count: int
    extension_count: int
    last_check: dt.date | None
    open_task: bool


@dataclass(frozen=True)
class Selection:
    candidate: Candidate
    reasons: tuple[dict[str, str], ...]

    @property
    def high_risk(self) -> bool:
        return any(r["code"] in HIGH_RISK for r in self.reasons)


def risks(c: Candidate) -> list[dict[str, str]]:
    """Why an item might slide back, each reason a flag with words a clerk reads."""
    out = []
    if _TRANSFER.search(c.measures):
        out.append({"code": "transfer", "text": "以移交其他单位了结，需核实对方是否落实"})
    sentences = [s for s in re.split(r"[。；;]", c.measures) if s.strip()]
    if sentences and all(_PAPER.search(s) for s in sentences) and not _CONCRETE.search(c.measures):
        out.append({"code": "paper_only", "text": "整改佐证仅为学习、开会或制定制度，缺少实际整改行动"})
    if c.aspect and _ASPECT_REBOUND.search(c.aspect):
        out.append({"code": "aspect_rebound", "text": "所属方面本身是上轮整改不彻底、问题反弹回潮"})
    if c.rebound_count:
        out.append({"code": "earlier_rebound", "text": f"曾经反弹 {c.rebound_count} 次"})
    if c.late or c.extension_count:
        out.append({"code": "late", "text": "逾期或经延期后才完成"})
    if not c.evidence_recorded:
        out.append({"code": "no_evidence", "text": "按导入的“已完成”计为销号，未记录佐证材料"})
    return out


def scheduled(c: Candidate, today: dt.date, rules: Rules) -> dict[str, str] | None:
    """The latest scheduled re-check (N months after closure) that has come and not been done."""
    for months in sorted(rules.lookback_after_months, reverse=True):
        when = add_months(c.closed_on, months)
        if when <= today and (c.last_check is None or c.last_check < when):
            return {"code": f"after_{months}m", "text": f"销号已满 {months} 个月（{when}）的定期回头看"}
    return None


def default_seed(today: dt.date) -> str:
    return f"rectify-lookback-{today.isoformat()}"


def select_for_sweep(candidates: list[Candidate], today: dt.date, rules: Rules, seed: str) -> list[Selection]:
    """Every high-risk or scheduled item, plus a seeded random share of the rest; an
    item closed within `lookback.min_age_months` is not drawn yet. Pure: the same
    candidates, day, rules and seed give the same selection."""
    chosen: list[Selection] = []
    rest: list[Candidate] = []
    settled = add_months(today, -rules.lookback_min_age_months)
    for c in sorted((c for c in candidates if not c.open_task and c.closed_on <= settled),
                    key=lambda c: c.item_id):
        reasons = risks(c)
        due = scheduled(c, today, rules)
        if due:
            reasons.insert(0, due)
        if due or any(r["code"] in HIGH_RISK for r in reasons):
            chosen.append(Selection(c, tuple(reasons)))
        else:
            rest.append(c)
    picks = random.Random(seed).sample(rest, math.ceil(rules.lookback_share * len(rest))) if rest else []
    draw = {"code": "random", "text": f"随机抽查（比例 {rules.lookback_share:.0%}，种子 {seed}）"}
    chosen += [Selection(c, (draw, *risks(c))) for c in picks]
    return sorted(chosen, key=lambda s: s.candidate.item_id)


def candidates(today: dt.date, *, session: Session, unit: str | None = None) -> list[Candidate]:
    """Closed items (done), with their current closure, in one query plus one for tasks.
    Items imported as done count as closed on the report date, evidence not recorded."""
    closure = aliased(Closure)
    query = (select(Item, Round.name, Unit.name, Aspect.title, closure, Round.report_date, Round.imported_at)
             .join(Round, Item.round_id == Round.id).join(Unit, Round.unit_id == Unit.id)
             .outerjoin(Aspect, Item.aspect_id == Aspect.id).outerjoin(closure, Item.closure_id == closure.id)
             .where(Item.status == DONE))
    if unit is not None:
        query = query.where(Unit.name == unit)
    rows = session.execute(query).all()
    checks: dict[int, dt.date] = {}
    open_items: set[int] = set()
    for item_id, state, created in session.execute(
            select(LookbackTask.item_id, LookbackTask.state, LookbackTask.created_at)):
        checks[item_id] = max(checks.get(item_id, dt.date.min), local_today(created))
        if state == TaskState.DUE:
            open_items.add(item_id)
    out = []
    for item, round_name, unit_name, aspect, cl, report_date, imported_at in rows:
        closed_on = cl.closed_on if cl else (item.done_on or report_date or local_today(imported_at))
        out.append(Candidate(item.id, item.ref, item.round_id, round_name, unit_name, item.title, aspect,
                             item.measures_text or "", cl.id if cl else None, closed_on,
                             bool(cl and cl.evidence_recorded), bool(cl and cl.late), item.rebound_count,
                             item.extension_count, checks.get(item.id), item.id in open_items))
    return out


def selection_json(s: Selection) -> dict[str, Any]:
    c = s.candidate
    return {**ref_json(c.ref), "unit": c.unit, "round": c.round_name, "round_id": c.round_id, "title": c.title,
            "closed_on": c.closed_on.isoformat(), "high_risk": s.high_risk, "reasons": list(s.reasons)}


def _closure_for(c: Candidate, now: dt.datetime, *, session: Session) -> int:
    if c.closure_id is not None:
        return c.closure_id
    closure = Closure(item_id=c.item_id, closed_at=now, closed_on=c.closed_on, closed_by=None, verified_by=None,
                      evidence=[], evidence_recorded=False, late=False)
    session.add(closure)
    session.flush()
    item = session.get(Item, c.item_id)
    assert item is not None
    item.closure_id = closure.id
    return closure.id


@dataclass(frozen=True)
class SweepResult:
    """A day's sweeps, one per unit: what was selected and how many tasks are new."""

    run_on: dt.date
    seed: str
    sweeps: list[LookbackSweep]
    assigned: int

    @property
    def selected(self) -> list[dict[str, Any]]:
        return [s for sweep in self.sweeps for s in sweep.selected]

    def as_json(self) -> dict[str, Any]:
        return {"date": self.run_on.isoformat(), "seed": self.seed, "selected": self.selected,
                "assigned": self.assigned,
                "units": [{"unit": s.unit, "assigned": True, "selected": list(s.selected)} for s in self.sweeps]}


def reviewer_for(unit: str, directory: Directory) -> str | None:
    """The unit's own look-back reviewer (role `reviewer` in contacts.toml), else its
    inspection office."""
    for role in (Role.REVIEWER, Role.INSPECTION_OFFICE):
        found = directory.holders(unit, role)
        if found:
            return found[0]
    return None


@dataclass(frozen=True)
class UnitDraw:
    """One unit's draw of a day: what a sweep selects (or, when the unit was already
    swept that day, the sweep recorded then)."""

    unit: str
    chosen: list[Selection]
    recorded: LookbackSweep | None = None

    @property
    def selected(self) -> list[dict[str, Any]]:
        return list(self.recorded.selected) if self.recorded is not None else [selection_json(s) for s in self.chosen]


def draw(today: dt.date, rules: Rules, *, session: Session, seed: str | None = None,
         unit: str | None = None) -> list[UnitDraw]:
    """The day's draw, one per unit (or for one unit), as `assign` makes it: each unit's
    closed items drawn apart, with the same seed; a unit already swept that day keeps its
    recorded sweep. `lookback plan` shows exactly this; `assign` records it."""
    seed = seed or default_seed(today)
    by_unit: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates(today, session=session, unit=unit):
        by_unit[c.unit].append(c)
    if unit is not None:
        by_unit.setdefault(unit, [])
    swept = {s.unit: s for s in session.scalars(select(LookbackSweep).where(LookbackSweep.run_on == today))}
    return [UnitDraw(name, [] if name in swept else select_for_sweep(by_unit[name], today, rules, seed),
                     swept.get(name)) for name in sorted(by_unit)]


def assign(today: dt.date, now: dt.datetime, rules: Rules, cal: WorkCalendar, directory: Directory,
           *, session: Session, seed: str | None = None, unit: str | None = None) -> SweepResult:
    """Run the sweep of `today`, one per unit (or for one unit), and assign a task per
    selected item. Idempotent: a unit already swept that day keeps its recorded sweep
    and gets nothing new."""
    seed = seed or default_seed(today)
    sweeps: list[LookbackSweep] = []
    assigned = 0
    for unit_draw in draw(today, rules, session=session, seed=seed, unit=unit):
        if unit_draw.recorded is not None:
            sweeps.append(unit_draw.recorded)
            continue
        sweep, n = _sweep_unit(unit_draw.unit, unit_draw.chosen, Act("rectify", now, today), rules, cal, directory,
                               seed, session=session)
        sweeps.append(sweep)
        assigned += n
    return SweepResult(today, seed, sweeps, assigned)


def _sweep_unit(unit: str, chosen: list[Selection], act: Act, rules: Rules, cal: WorkCalendar, directory: Directory,
                seed: str, *, session: Session) -> tuple[LookbackSweep, int]:
    today, now = act.today, act.now
    sweep = LookbackSweep(run_on=today, unit=unit, seed=seed, share=rules.lookback_share,
                          selected=[selection_json(s) for s in chosen], created_at=now)
    session.add(sweep)
    session.flush()
    due = cal.add_workdays(today, rules.lookback_review_workdays)
    reviewer = reviewer_for(unit, directory)
    for s in chosen:
        c = s.candidate
        task = LookbackTask(item_id=c.item_id, closure_id=_closure_for(c, now, session=session), sweep_id=sweep.id,
                            reasons=list(s.reasons), reviewer=reviewer, due=due,
                            state=TaskState.DUE, created_at=now)
        session.add(task)
        session.flush()
        session.add(Event(round_id=c.round_id, item_id=c.item_id, at=now, kind="lookback_assigned", actor="rectify",
                          data={"task": task.id, "sweep": sweep.id, "reviewer": task.reviewer,
                                "due": due.isoformat(), "reasons": [r["code"] for r in s.reasons]}))
    return sweep, len(chosen)


def record(item: Item, outcome: str, note: str, evidence: list[dict[str, Any]], act: Act, terms: Terms, *,
           session: Session) -> LookbackTask:
    """巩固 closes the task; 反弹 also reopens the item, linked to the closure it undoes."""
    if outcome not in OUTCOMES:
        raise RefusedError(f"未知的回头看结论“{outcome}”（可用：巩固、反弹）")
    if not note.strip() or not act.by:
        raise RefusedError("请写明检查情况和检查人", hint="--note、--by")
    task = session.scalar(select(LookbackTask).where(LookbackTask.item_id == item.id,
                                                     LookbackTask.state == TaskState.DUE))
    if task is None:
        raise RefusedError(f"{item.label}没有待完成的回头看任务")
    task.state, task.outcome, task.note = TaskState.DONE, OUTCOMES[outcome], note.strip()
    task.evidence = evidence
    task.recorded_by, task.recorded_at = act.by, act.now
    data: dict[str, Any] = {"outcome": outcome, "note": note.strip(), "evidence": task.evidence}
    if outcome == "巩固":
        rebounds.consolidate(item, task, act, data, session=session)
    else:
        rebounds.reopen(item, task, act, terms, data, session=session)
    return task


def tasks(*, session: Session) -> list[LookbackTask]:
    return list(session.scalars(select(LookbackTask).order_by(LookbackTask.due, LookbackTask.id)))


def stats(*, session: Session) -> dict[str, Any]:
    """Checked, consolidated, rebounded and the rebound rate, overall, by round and by aspect."""
    rows = session.execute(
        select(Round.name, Aspect.title, LookbackTask.outcome, func.count())
        .join(Item, LookbackTask.item_id == Item.id).join(Round, Item.round_id == Round.id)
        .outerjoin(Aspect, Item.aspect_id == Aspect.id)
        .where(LookbackTask.state == "done").group_by(Round.name, Aspect.title, LookbackTask.outcome)).all()
    groups: dict[str, dict[str, dict[str, int]]] = {"round": defaultdict(lambda: defaultdict(int)),
                                                    "aspect": defaultdict(lambda: defaultdict(int))}
    total: dict[str, int] = defaultdict(int)
    for round_name, aspect, outcome, n in rows:
        for key, name in (("round", round_name), ("aspect", aspect or "（未分方面）")):
            groups[key][name][str(outcome)] += n
        total[str(outcome)] += n
    return {"overall": _rate(total),
            "by_round": [{"round": k, **_rate(v)} for k, v in groups["round"].items()],
            "by_aspect": [{"aspect": k, **_rate(v)} for k, v in groups["aspect"].items()]}


def _rate(counts: dict[str, int]) -> dict[str, Any]:
    checked = counts.get("consolidated", 0) + counts.get("rebound", 0)
    return {"checked": checked, "consolidated": counts.get("consolidated", 0),
            "rebounded": counts.get("rebound", 0),
            "rebound_rate": round(counts.get("rebound", 0) / checked, 3) if checked else None}
