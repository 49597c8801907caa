"""Inspected units as first-class things: how each is named, who signs for it, and its
figures, each unit's own (nothing summed across units unless the view is the county's)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.identity import unit_key
from rectify_core.ledger.models import Account, Round, Unit
from rectify_core.ledger.view import RoundView
from rectify_core.vocab import ACTIVE, ItemState, completion_rate


@dataclass(frozen=True)
class UnitFigures:
    """One unit's rounds and items as of a day."""

    unit: str
    short_name: str
    office: str  # who signs for it: its own office, else the sender's
    own_office: bool
    rounds: int
    items: int
    done: int
    ongoing: int
    open: int
    overdue: int
    accounts: int
    own_short: bool = False  # the short name was set (rectify units edit --short-name), not derived

    @property
    def shown(self) -> str:
        """How a table names the unit: its short name when one was set, else its name."""
        return self.short_name if self.own_short else self.unit

    @property
    def rate(self) -> float:
        """完成率, in percent."""
        return completion_rate(self.done, self.items)

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "rate": self.rate}


def short_name(unit: Unit) -> str:
    """The unit's short name, else its name with the usual endings dropped (区交通运输局党组 → 区交通运输局)."""
    if unit.short_name:
        return unit.short_name
    for ending in ("党组织", "党委", "党组", "党总支", "党支部"):
        if unit.name.endswith(ending) and len(unit.name) > len(ending) + 1:
            return unit.name[: -len(ending)]
    return unit.name


def figures(rows: Iterable[tuple[str, str, str | None]], default_office: str, *,
            session: Session) -> list[UnitFigures]:
    """Every unit's figures (units without rounds too), in the order of their names, from
    its counted items as (unit, state, light): a day's round views, or the glance."""
    return counted_figures(count(rows), default_office, session=session)


def count(rows: Iterable[tuple[str, str, str | None]],
          counted: dict[str, Counter[str]] | None = None) -> dict[str, Counter[str]]:
    """Counted items as (unit, state, light) added to `counted` (a new count if none): by
    state, and "red" for the overdue, as `counted_figures` reads them."""
    counted = defaultdict(Counter) if counted is None else counted
    for name, status, light in rows:
        counted[name].update((status, "red" if status in ACTIVE and light == "red" else ""))
    return counted


def short_names(*, session: Session) -> dict[str, str]:
    """Every unit's short name by its name."""
    return {unit.name: short_name(unit) for unit in session.scalars(select(Unit))}


def counted_figures(counted: Mapping[str, Counter[str]], default_office: str, *,
                    session: Session) -> list[UnitFigures]:
    """Every unit's figures from its counts by state (and "red": its overdue items)."""
    accounts = dict(session.execute(select(Account.unit_id, func.count()).group_by(Account.unit_id)).all())
    rounds = dict(session.execute(select(Round.unit_id, func.count()).group_by(Round.unit_id)).all())
    found = []
    for unit in session.scalars(select(Unit).order_by(Unit.name)):
        c = counted.get(unit.name, Counter())
        found.append(UnitFigures(
            unit.name, short_name(unit), unit.office or default_office, unit.office is not None,
            int(rounds.get(unit.id, 0)), c[ItemState.OPEN] + c[ItemState.ONGOING] + c[ItemState.DONE],
            c[ItemState.DONE], c[ItemState.ONGOING], c[ItemState.OPEN], c["red"], int(accounts.get(unit.id, 0)),
            bool(unit.short_name)))
    return found


def view_rows(views: list[RoundView]) -> Iterator[tuple[str, str, str | None]]:
    """The round views' items as `figures` counts them."""
    return ((v.unit, r.status, r.light) for v in views for r in v.rows)


name_key = unit_key


def unit_by_key(name: str, *, session: Session) -> Unit | None:
    """The unit whose name is `name`, spelling aside, found through the name-key index."""
    return session.scalar(select(Unit).where(Unit.name_key == unit_key(name)).order_by(Unit.id).limit(1))


def find_unit(name: str, *, session: Session) -> Unit:
    """The unit named `name` (its full or short name, spelling aside), or a NotFoundError
    listing the units there are."""
    wanted = name_key(name)
    units = list(session.scalars(select(Unit).order_by(Unit.name)))
    for unit in units:
        if wanted and wanted in (name_key(unit.name), name_key(unit.short_name or ""), name_key(short_name(unit))):
            return unit
    within = [u for u in units if wanted and wanted in name_key(u.name)]
    if len(within) == 1:  # 交通运输局 for 区交通运输局党组, when no other unit answers to it
        return within[0]
    known = "、".join(u.name for u in units) or "（还没有任何单位：请先导入台账）"
    raise NotFoundError(f"没有名为“{name.strip()}”的被巡察单位。已有单位：{known}")


Change = tuple[str | None, str | None]


def edit(unit: Unit, *, office: str | None = None, short: str | None = None) -> dict[str, Change]:
    """Set a unit's signing office and short name ("" clears one); returns what changed."""
    changes: dict[str, Change] = {}
    for field, value, limit in (("office", office, 200), ("short_name", short, 50)):
        if value is None:
            continue
        value = value.strip() or None
        if value is not None and len(value) > limit:
            raise RectifyError(f"{'署名单位' if field == 'office' else '简称'}过长（不超过 {limit} 字）")
        if getattr(unit, field) != value:
            changes[field] = (getattr(unit, field), value)
            setattr(unit, field, value)
    return changes


def add(name: str, *, session: Session, short: str | None = None, office: str | None = None) -> Unit:
    """A unit the office adds before its first ledger arrives; refused when another unit
    already has the name (spelling aside)."""
    name = " ".join(name.split())
    if not name:
        raise RectifyError("请写明单位名称")
    if len(name) > 200:
        raise RectifyError("单位名称过长（不超过 200 字）")
    same = unit_by_key(name, session=session)
    if same is not None:
        raise RectifyError(f"已有单位“{same.name}”")
    unit = Unit(name=name)
    session.add(unit)
    edit(unit, office=office, short=short)
    session.flush()
    return unit
