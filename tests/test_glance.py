"""The office's list at a glance equals the full round views it replaces: every counted
item, in the same order, with the same due date, working days left, light, state and
off-sheet mark; and a change to the record is seen at once (the kept glance is dropped)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

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
    assert cli([*base, "import", str(county_csv(tmp_path))]).code == 0
    rows = (world.store.parent / "ledger.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "w2").mkdir()
    (tmp_path / "w2" / "ledger.csv").write_text("\n".join([rows[0], "1," + rows[3].split(",", 1)[1]]) + "\n",
                                                encoding="utf-8")
    assert cli([*base, "import", str(tmp_path / "w2" / "ledger.csv"), "--unit", "测试局"]).code == 0
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
