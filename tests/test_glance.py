"""The office's list at a glance equals the full round views it replaces: every counted
item, in the same order, with the same due date, working days left, light, state and
off-sheet mark; and a change to the record is seen at once (the kept glance is dropped)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from rectify_core.config.calendar import local_today
from rectify_core.config.settings import load_settings
from rectify_core.ledger import db, glance, obligations
from rectify_core.ledger.view import all_round_views
from tests.fixtures.web import World
from tests.test_units import county_csv


def _both(world: World) -> tuple[list[Any], list[Any]]:
    settings = load_settings(world.config)
    today = local_today(dt.datetime.now(dt.UTC))
    with db.session_factory(world.engine)() as session:
        directory = obligations.directory(settings, session=session)
        full = [(v.id, r.item_id, r.status, r.listed, r.due, r.workdays_left, r.light)
                for v in all_round_views(today, settings.rules, settings.calendar, directory, session=session)
                for r in v.rows]
        seen = [(g.round_id, g.item_id, g.status, g.listed, g.due, g.left, g.light)
                for g in glance.glances(today, settings.rules, settings.calendar, session=session)]
    return full, seen


def test_the_glance_is_the_full_view_and_follows_every_change(cli: Any, world: World, tmp_path: Path) -> None:
    base = ["--db", world.url, "--config", str(world.config)]
    _county_world(cli, world, tmp_path)
    full, seen = _both(world)
    assert len(full) > 6 and any(not listed for _, _, _, listed, *_ in full)  # off-sheet rows among them
    assert seen == full
    extended = cli([*base, "extend", "1", "--unit", "测试局", "--to", "2030-06-28", "--reason", "需协调",
                    "--approved-by", "胡志云"])
    assert extended.code == 0, extended.err
    full, seen = _both(world)
    assert seen == full and any(due == dt.date(2030, 6, 28) for *_, due, _, _ in seen)
    assert cli([*base, "close", "1", "--unit", "测试局", "--evidence-text", "已整改", "--by", "周敏",
                "--verified-by", "王芳"]).code == 0
    full, seen = _both(world)
    assert seen == full


def _county_world(cli: Any, world: World, tmp_path: Path) -> None:
    """Two county units and the world's own unit, with an item off the latest sheet, an
    extension and a closure among them."""
    base = ["--db", world.url, "--config", str(world.config)]
    assert cli([*base, "import", str(county_csv(tmp_path))]).code == 0
    rows = (world.store.parent / "ledger.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "w2").mkdir()
    (tmp_path / "w2" / "ledger.csv").write_text("\n".join([rows[0], "1," + rows[3].split(",", 1)[1]]) + "\n",
                                                encoding="utf-8")
    assert cli([*base, "import", str(tmp_path / "w2" / "ledger.csv"), "--unit", "测试局"]).code == 0
    assert cli([*base, "close", "1", "--unit", "区审计局党组", "--evidence-text", "已整改", "--by", "王芳",
                "--verified-by", "张华"]).code == 0


def test_the_counts_and_the_board_are_what_the_full_views_give(cli: Any, world: World, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter, defaultdict

    from rectify_core.ledger import board as ledger_board
    from rectify_core.refs import order

    _county_world(cli, world, tmp_path)
    settings = load_settings(world.config)
    today = local_today(dt.datetime.now(dt.UTC))
    with db.session_factory(world.engine)() as session:
        views = all_round_views(today, settings.rules, settings.calendar,
                                obligations.directory(settings, session=session), session=session)
        rows = [(v, r) for v in views for r in v.rows]
        red = [(v, r) for v, r in rows if r.status != "done" and r.light == "red"]
        assert len({v.unit for v in views}) == 3 and red and any(not r.listed for _, r in rows)
        tally = glance.tally(today, settings.rules, settings.calendar, session=session)
        assert tally == Counter((v.id, r.status, (v, r) in red) for v, r in rows)
        got = ledger_board.read(today, settings.rules, settings.calendar, session=session)
        assert got.units == sorted({v.unit for v in views}) and got.round_ids == [v.id for v in views]
        assert got.lights == Counter("done" if r.status == "done" else r.light for _, r in rows)
        expected: dict[tuple[str, str, str | None], list[int]] = defaultdict(lambda: [0, 0, 0])
        for v, r in rows:
            for key in (("unit", v.unit, None), ("aspect", v.unit, r.aspect), ("department", v.unit, r.department)):
                expected[key][0] += r.status == "done"
                expected[key][1] += 1
                expected[key][2] += (v, r) in red
        found: dict[tuple[str, str, str | None], Any] = {("unit", u, None): t for u, t in got.by_unit.items()}
        found |= {("aspect", u, a): t for u, ts in got.aspects.items() for a, t in ts.items()}
        found |= {("department", u, d): t for u, ts in got.departments.items() for d, t in ts.items()}
        assert {k: [t.done, t.total, t.red] for k, t in found.items()} == dict(expected)
        longest = sorted(red, key=lambda vr: (vr[1].workdays_left or 0, order(vr[1].ref), vr[0].unit, vr[0].id))
        assert [(o.unit, o.ref, o.title, o.due, o.left, o.owner) for o in got.overdue] == [
            (v.unit, r.ref, r.title, r.due, r.workdays_left, r.owner) for v, r in longest]
        assert got.overdue_count == len(red)
        shown = ledger_board.read(today, settings.rules, settings.calendar, session=session, shown=1)
        assert [o.item_id for o in shown.overdue] == [longest[0][1].item_id] and shown.overdue_count == len(red)
        monkeypatch.setattr(ledger_board, "BY_ID", 0)  # many overdue: their words sifted from the open items'
        assert ledger_board.read(today, settings.rules, settings.calendar, session=session).overdue == got.overdue
        one = ledger_board.read(today, settings.rules, settings.calendar, session=session, unit="区交通运输局党组")
        assert one.overdue == [o for o in got.overdue if o.unit == "区交通运输局党组"] and one.overdue
        # kept without words (a bulletin's), read unit by unit in any order and batch: the same items
        kept = ledger_board.read(today, settings.rules, settings.calendar, session=session, words=False)
        assert kept.overdue == [] and kept.overdue_count == len(red) and kept.by_unit == got.by_unit
        order_asked = [*reversed(got.units), "无此单位"]
        for at_once in (1, 2, 50):
            for sifted in (0, 1_000):  # words by id, and sifted from the open items of the batch's rounds
                monkeypatch.setattr(ledger_board, "BY_ID", sifted)
                assert list(ledger_board.overdue_in_turn(kept, order_asked, session=session, at_once=at_once)) == [
                    (unit, [o for o in got.overdue if o.unit == unit]) for unit in order_asked]


def test_the_county_dashboard_lists_the_longest_overdue_and_counts_them_all(
        cli: Any, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rectify_core.documents import dashboard

    _county_world(cli, world, tmp_path)
    base = ["--db", world.url, "--config", str(world.config)]
    whole = cli([*base, "dashboard", "-o", str(tmp_path / "all.html")])
    count = int(whole.out.split("逾期 ")[1].split(" 个")[0])
    assert count >= 2
    monkeypatch.setattr(dashboard, "COUNTY_OVERDUE_SHOWN", 1)
    capped = cli([*base, "dashboard", "-o", str(tmp_path / "capped.html")])
    assert capped.code == 0 and f"逾期 {count} 个" in capped.out                 # every one counted
    page = (tmp_path / "capped.html").read_text(encoding="utf-8")
    listed = page[page.index(f"逾期问题（{count}）"):page.index("本周升级督办")]
    assert listed.count("<tr><td>") == 1 and "以下列出逾期最久的 1 个问题" in listed
    first = (tmp_path / "all.html").read_text(encoding="utf-8")
    first_row = first[first.index(f"逾期问题（{count}）"):].split("<tr><td>")[1].split("</tr>")[0]
    assert first_row in listed                                                   # the longest overdue
    unit = cli([*base, "dashboard", "--unit", "区审计局党组", "-o", str(tmp_path / "unit.html")])
    assert unit.code == 0
    own = (tmp_path / "unit.html").read_text(encoding="utf-8")
    assert "以下列出" not in own                                                  # a unit's lists every one


def test_the_list_counts_and_filters_each_round_as_the_whole_glance_would(cli: Any, world: World,
                                                                          tmp_path: Path) -> None:
    """/admin's list takes each round's kept glances and counts: for every filter of light,
    state, the sheet, unit and round, and for an account of one unit, the rows, their order
    and the counts are those a pass over the whole glance gives."""
    import collections

    from rectify_core.ledger.accounts import Scope
    from rectify_core.vocab import AccountRole
    from rectify_core.web.listing import Filters, listing, rounds_seen

    _county_world(cli, world, tmp_path)
    settings = load_settings(world.config)
    today = local_today(dt.datetime.now(dt.UTC))
    with db.session_factory(world.engine)() as session:
        every = glance.glances(today, settings.rules, settings.calendar, session=session)
        units = sorted({r.unit for r in rounds_seen(Scope("x", AccountRole.OFFICE, None), session=session)})
        scopes = [Scope("x", AccountRole.OFFICE, None), Scope("y", AccountRole.CLERK, units[1])]
        filters = [Filters(), Filters(light="red"), Filters(light="done"), Filters(state="open"),
                   Filters(offsheet=True), Filters(unit=units[0]), Filters(unit=units[1], light="none"),
                   Filters(light="yellow", state="ongoing")]
        checked = 0
        for scope in scopes:
            mine = rounds_seen(scope, session=session)
            filters += [Filters(round=mine[-1].id), Filters(round=mine[0].id, offsheet=True)]
            for f in filters:
                wanted = {r.id for r in mine
                          if (not f.unit or r.unit == f.unit) and (f.round is None or r.id == f.round)}
                seen = [g for g in every if g.round_id in wanted]
                counts = collections.Counter([g.colour for g in seen] + [f"state:{g.status}" for g in seen])
                counts["offsheet"] = sum(not g.listed for g in seen)
                kept = [g.item_id for g in seen if (not f.light or g.colour == f.light)
                        and (not f.state or g.status == f.state) and (not f.offsheet or not g.listed)]
                got = listing(f, scope, today, settings, session=session)
                assert ({k: v for k, v in got.counts.items() if v} == {k: v for k, v in counts.items() if v}
                        and got.counts["offsheet"] == counts["offsheet"]), (scope.login, f)
                assert (got.total, [r.item_id for r in got.rows]) == (len(kept), kept[:100]), (scope.login, f)
                checked += bool(kept)
        assert checked > 10  # (most filters keep rows: the comparison is not of empty lists)
