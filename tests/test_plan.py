"""The pure planner: due dates, lights, ladder steps, catch-up, recipients."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rectify_core.config.calendar import load_calendar
from rectify_core.config.people import Contact, Directory
from rectify_core.config.rules import Ladder, Rules, Step
from rectify_core.deadlines.plan import plan, plan_item
from rectify_core.deadlines.types import ItemPlan, PlanItem, Sent
from rectify_core.vocab import NoticeKind

D = dt.date
CAL = load_calendar(None)
RULES = Rules()
LADDERS = {RULES.ladder.version: RULES.ladder}
UNIT = "区交通运输局党组"
PEOPLE = Directory(contacts=[
    Contact("陈学文", UNIT, ("first_responsible",)),
    Contact("巡察办王敏", "*", ("inspection_office",)),
])


def item(**kw: Any) -> PlanItem:
    base = PlanItem(id=1, round_id=1, round_name="第三轮", unit=UNIT, ref="1", title="问题",
                    status="open", kind="dated", deadline=D(2025, 10, 31), extended_to=None,
                    feedback_date=D(2025, 1, 7), owner="周敏", leader="胡志云")
    return dataclasses.replace(base, **kw)


def run(it: PlanItem, today: dt.date, history: list[Sent] | None = None,
        rules: Rules = RULES, directory: Directory = PEOPLE) -> ItemPlan:
    ladders = {**LADDERS, rules.ladder.version: rules.ladder}
    return plan_item(it, history or [], today, rules, ladders, CAL, directory)


def sent_of(p: ItemPlan, delivered_on: dt.date | None = None) -> list[Sent]:
    """What the outbox would hold after enqueuing this plan (delivered on a day, or pending)."""
    if not p.notify:
        return []
    assert p.due.date is not None and p.offset is not None
    return [Sent(p.item.key, p.due.date, p.offset, p.ladder, r.role, delivered_on) for r in p.notify]


def test_due_from_item_rule_and_extension() -> None:
    assert run(item(), D(2025, 9, 1)).due.source == "item"
    by_rule = run(item(deadline=None), D(2025, 2, 1)).due
    assert (by_rule.date, by_rule.source) == (D(2025, 3, 7), "rule")        # feedback + 2 months
    immediate = run(item(deadline=None, kind="immediate"), D(2025, 1, 8)).due
    assert immediate.date == CAL.add_workdays(D(2025, 1, 7), 10) == D(2025, 1, 21)
    extended = run(item(extended_to=D(2025, 12, 31)), D(2025, 11, 1)).due
    assert (extended.date, extended.source) == (D(2025, 12, 31), "extension")


def test_due_on_a_holiday_moves_to_previous_workday() -> None:
    assert run(item(deadline=D(2025, 10, 5)), D(2025, 9, 1)).due.date == D(2025, 9, 30)
    nxt = dataclasses.replace(RULES, non_workday="next")
    assert run(item(deadline=D(2025, 10, 5)), D(2025, 9, 1), rules=nxt).due.date == D(2025, 10, 9)


def test_long_term_is_blue_with_quarterly_update() -> None:
    p = run(item(kind="long_term", deadline=None, status="ongoing"), D(2025, 11, 3))
    assert (p.light, p.due.date, p.due.source) == ("blue", D(2025, 12, 31), "rule")
    assert p.next_update == D(2025, 11, 28)   # last working day of November


def test_missing_feedback_date_is_reported() -> None:
    p = run(item(deadline=None, feedback_date=None), D(2025, 3, 1))
    assert p.due.date is None and p.light is None and p.due.problem and "反馈日期" in p.due.problem


def test_lights() -> None:
    due = D(2025, 10, 31)
    assert run(item(deadline=due), CAL.add_workdays(due, -11)).light == "green"
    assert run(item(deadline=due), CAL.add_workdays(due, -10)).light == "yellow"
    assert run(item(deadline=due), due).light == "yellow"
    assert run(item(deadline=due), CAL.add_workdays(due, 1)).light == "red"
    # a red item that catches up (extension) is yellow, not green, until done
    was_red = [Sent("item:1", due, 5, RULES.ladder.version)]
    caught_up = run(item(deadline=due, extended_to=D(2026, 3, 31)), D(2025, 11, 20), was_red)
    assert caught_up.workdays_left is not None and caught_up.workdays_left > 20
    assert caught_up.light == "yellow"


def _at(offset: int) -> dt.date:
    return CAL.add_workdays(D(2025, 10, 31), offset)


def test_ladder_steps_and_recipients() -> None:
    expect = {
        -20: ("督办通知", {"周敏"}), -10: ("临期提醒", {"周敏", "胡志云"}), -3: ("临期提醒", {"周敏"}),
        0: ("到期提醒", {"周敏"}), 5: ("逾期催办", {"周敏", "胡志云"}),
        10: ("逾期催办、逾期告诫", {"周敏", "胡志云", "陈学文"}),
        20: ("逾期催办、提请问责", {"周敏", "胡志云", "巡察办王敏"}),
    }
    history: list[Sent] = []
    for offset in sorted(expect):
        p = run(item(), _at(offset), history)
        assert (p.step, {r.name for r in p.notify}) == expect[offset], offset
        history += sent_of(p, _at(offset))
    # between steps: the step stays, nothing new is owed
    quiet = run(item(), _at(12), history)
    assert quiet.step == "逾期催办、逾期告诫" and quiet.notify == ()


def test_catch_up_sends_the_highest_step_once_with_missed_escalations() -> None:
    eager = dataclasses.replace(RULES, escalate_after_notified=False)
    history = sent_of(run(item(), _at(5), rules=eager), _at(5))
    # the machine was down from +5 to +22: one notice, to everyone the missed steps owed
    p = run(item(), _at(22), history, rules=eager)
    assert p.step == "逾期催办、提请问责"
    assert {r.name for r in p.notify} == {"周敏", "胡志云", "陈学文", "巡察办王敏"}
    assert "逾期告诫" in p.notify[0].reason
    assert run(item(), _at(22), history + sent_of(p), rules=eager).notify == ()


def test_escalation_waits_until_the_level_below_was_notified() -> None:
    # an imported backlog, already 36 working days overdue, never chased in rectify
    first = run(item(), _at(36))
    assert {(r.name, r.role) for r in first.notify} == {("周敏", "owner"), ("胡志云", "leader")}
    assert set(first.unresolved) == set()
    # delivered that day; the next days owe nothing until the wait is over
    history = sent_of(first, _at(36))
    assert run(item(), _at(38), history).notify == ()
    # not delivered (still pending): the first responsible is not told, however long it waits
    assert {r.role for r in run(item(), _at(41), sent_of(first)).notify} == {"owner", "leader"}
    # five working days after delivery: the first responsible, not yet the inspection office
    second = run(item(), _at(41), history)
    assert {r.name for r in second.notify} == {"周敏", "胡志云", "陈学文"}
    history += sent_of(second, _at(41))
    assert run(item(), _at(43), history).notify == ()
    # five working days after the first responsible: the inspection office
    third = run(item(), _at(46), history)
    assert {r.name for r in third.notify} == {"周敏", "胡志云", "巡察办王敏"}


def test_without_a_first_responsible_the_office_waits_on_the_level_below() -> None:
    office_only = Directory(contacts=[Contact("巡察办王敏", "*", ("inspection_office",))])
    first = run(item(), _at(36), directory=office_only)
    assert {r.name for r in first.notify} == {"周敏", "胡志云"} and "first_responsible" in first.unresolved
    later = run(item(), _at(41), sent_of(first, _at(36)), directory=office_only)
    assert "巡察办王敏" in {r.name for r in later.notify}


def test_vacant_roles_climb_the_chain_and_unknowns_are_reported() -> None:
    p = run(item(owner=None), _at(-20))
    assert [(r.name, r.role) for r in p.notify] == [("胡志云", "leader")]
    assert "未指定责任人" in p.notify[0].reason
    lonely = run(item(owner=None, leader=None), _at(20), directory=Directory())
    assert lonely.notify == () and set(lonely.unresolved) == {
        "owner", "leader", "first_responsible", "inspection_office"}


def test_item_keeps_the_ladder_it_started_with() -> None:
    started = run(item(), _at(-20))
    history = sent_of(started)
    new_rules = dataclasses.replace(RULES, ladder=Ladder((Step("新提醒", -15, ("leader",)),)))
    p = run(item(), _at(-10), history, rules=new_rules)
    assert p.ladder == RULES.ladder.version and p.step == "临期提醒"
    fresh = run(item(id=2), _at(-10), rules=new_rules)
    assert fresh.ladder == new_rules.ladder.version and fresh.step == "新提醒"


def test_done_items_are_never_planned() -> None:
    items = [item(id=1, status="done"), item(id=2, status="ongoing"), item(id=3)]
    assert [p.item.id for p in plan(items, {}, D(2025, 10, 31), RULES, LADDERS, CAL, PEOPLE)] == [2, 3]


days = st.integers(min_value=0, max_value=500).map(lambda n: D(2025, 1, 2) + dt.timedelta(n))
items_st = st.builds(
    item, id=st.integers(1, 10**6), deadline=days,
    status=st.sampled_from(["open", "ongoing", "done"]),
    owner=st.sampled_from(["周敏", None]), leader=st.sampled_from(["胡志云", None]))


@settings(max_examples=200, deadline=None)
@given(it=items_st, a=days, b=days)
def test_later_now_never_lowers_the_step(it: PlanItem, a: dt.date, b: dt.date) -> None:
    early, late = sorted((a, b))
    p1, p2 = run(it, early), run(it, late)
    assert (p1.offset if p1.offset is not None else -999) <= (
        p2.offset if p2.offset is not None else -999)


@settings(max_examples=200, deadline=None)
@given(its=st.lists(items_st, max_size=6, unique_by=lambda i: i.id), today=days)
def test_planning_twice_with_its_own_history_plans_nothing_new(its: list[PlanItem], today: dt.date) -> None:
    first = plan(its, {}, today, RULES, LADDERS, CAL, PEOPLE)
    history = {p.item.key: sent_of(p) for p in first}
    second = plan(its, history, today, RULES, LADDERS, CAL, PEOPLE)
    assert all(p.notify == () for p in second)
    assert all(p.item.status != "done" for p in first)


def test_rebounded_item_starts_one_level_higher() -> None:
    first = run(item(rebound_count=1), _at(-20))
    assert {(r.name, r.role) for r in first.notify} == {("周敏", "owner"), ("胡志云", "leader")}
    overdue = run(item(rebound_count=1), _at(10), sent_of(first, _at(-20)))
    assert {r.role for r in overdue.notify} == {"owner", "leader", "first_responsible"}
    # one level up from the first responsible: the inspection office, once he was told
    later = run(item(rebound_count=1), _at(15), sent_of(first, _at(-20)) + sent_of(overdue, _at(10)))
    assert "inspection_office" in {r.role for r in later.notify}


def test_lookback_tasks_have_their_own_notices() -> None:
    task = item(lookback_id=7, owner="巡察办王敏", leader=None, subject=NoticeKind.LOOKBACK)
    p = run(task, _at(-20))
    assert p.item.key == "lookback:7" and p.dedup_keys()[0].startswith("lookback:7:")
    # the item's own history does not silence its look-back task
    history = {"item:1": [Sent("item:1", D(2025, 10, 31), -20, RULES.ladder.version)]}
    both = plan([item(), task], history, _at(-20), RULES, LADDERS, CAL, PEOPLE)
    assert [(p.item.key, bool(p.notify)) for p in both] == [("item:1", False), ("lookback:7", True)]


# --- the fast planner plans exactly what the definition does ---------------------------------

sent_st = st.builds(
    lambda due, offset, role, settled: Sent("item:1", due, offset, RULES.ladder.version, role, settled),
    due=st.sampled_from([D(2025, 10, 31), D(2025, 9, 30), D(2025, 12, 31)]), offset=st.integers(-20, 40),
    role=st.sampled_from(["owner", "leader", "first_responsible", "inspection_office"]),
    settled=st.one_of(st.none(), days))
obligation_st = st.builds(
    item, id=st.integers(1, 50), deadline=st.one_of(st.none(), days), extended_to=st.one_of(st.none(), days),
    kind=st.sampled_from(["dated", "immediate", "long_term", None]),
    status=st.sampled_from(["open", "ongoing"]), feedback_date=st.one_of(st.none(), days),
    owner=st.sampled_from(["周敏", None, "周敏、李娜"]), leader=st.sampled_from(["胡志云", None]),
    rebound_count=st.integers(0, 2), overdue_since=st.one_of(st.none(), days),
    first_responsible=st.sampled_from([None, "陈学文", "王某"]),
    unit=st.sampled_from([UNIT, "区财政局党组"]),   # the second unit has no first responsible in contacts
    subject=st.sampled_from([NoticeKind.ITEM, NoticeKind.ITEM, NoticeKind.LOOKBACK]),
    lookback_id=st.sampled_from([None, 7]))


@settings(max_examples=300, deadline=None)
@given(cases=st.lists(st.tuples(obligation_st, st.lists(sent_st, max_size=6)), min_size=1, max_size=8),
       today=days, gated=st.booleans())
def test_the_planner_plans_exactly_what_plan_item_does(cases: list[tuple[PlanItem, list[Sent]]], today: dt.date,
                                                       gated: bool) -> None:
    from rectify_core.deadlines.plan import Planner

    rules = dataclasses.replace(RULES, escalate_after_notified=gated)
    planner = Planner(today, rules, LADDERS, CAL, PEOPLE)   # one planner, its caches shared by all cases
    for it, history in cases:
        assert planner.plan(it, history) == plan_item(it, history, today, rules, LADDERS, CAL, PEOPLE)


@settings(max_examples=200, deadline=None)
@given(cases=st.lists(st.tuples(obligation_st, st.lists(sent_st, max_size=4)), min_size=1, max_size=6), today=days)
def test_the_streamed_json_of_a_plan_is_plan_json(cases: list[tuple[PlanItem, list[Sent]]], today: dt.date) -> None:
    import json

    from rectify_core.deadlines.plan import Planner
    from rectify_core.runs.views import PlanEncoder, plan_json

    planner, encoder = Planner(today, RULES, LADDERS, CAL, PEOPLE), PlanEncoder()   # shared caches, as in check
    for it, history in cases:
        p = planner.plan(it, history)
        assert encoder.encode(p) == json.dumps(plan_json(p), ensure_ascii=False)
