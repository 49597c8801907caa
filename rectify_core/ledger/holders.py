"""The holders index: (item, role, normalised name) for every owner and leader an item
names, so that "the items of 周敏" is an index lookup, not a scan of the ledger.

Every transition that sets owner or leader keeps it: creation by import
(lifecycle.imported), an import's update and its undo, and reassignment. `rebuild`
recomputes it whole (the migration that introduced it, and tools that write items
directly).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from rectify_core import bulk
from rectify_core.config.people import split_names
from rectify_core.identity import person_name
from rectify_core.ledger.models import Item, ItemHolder

BATCH = 5000


def rows(item_id: int, owner: str | None, leader: str | None) -> list[dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for role, text in (("owner", owner), ("leader", leader)):
        for name in split_names(text):
            key = person_name(name)[:100]
            if key:
                found.setdefault((role, key), {"item_id": item_id, "role": role, "name": key})
    return list(found.values())


def add(items: Iterable[tuple[int, str | None, str | None]], *, session: Session) -> None:
    """Index new items, given as (id, owner, leader)."""
    batch: list[dict[str, Any]] = []
    table = cast(Table, ItemHolder.__table__)
    for item_id, owner, leader in items:
        batch += rows(item_id, owner, leader)
        if len(batch) >= BATCH:
            bulk.insert_all(session, table, batch)
            batch = []
    bulk.insert_all(session, table, batch)


def drop(item_ids: list[int], *, session: Session) -> None:
    for start in range(0, len(item_ids), BATCH):
        session.execute(delete(ItemHolder).where(ItemHolder.item_id.in_(item_ids[start:start + BATCH])))


def replace(item: Item, *, session: Session) -> None:
    """Re-index one item after its owner or leader changed."""
    drop([item.id], session=session)
    add([(item.id, item.owner, item.leader)], session=session)


def rebuild(*, session: Session) -> None:
    """The whole index again, from the items."""
    session.execute(delete(ItemHolder))
    add(((r.id, r.owner, r.leader) for r in
         session.execute(select(Item.id, Item.owner, Item.leader).execution_options(yield_per=BATCH))),
        session=session)
