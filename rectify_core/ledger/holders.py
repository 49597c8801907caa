"""The holders index: (item, role, normalised name) for every owner and leader an item
names, so that "the items of 周敏" is an index lookup, not a scan of the ledger.

Every transition that sets owner or leader keeps it: creation by import
(import_changes.imported), an import's update and its undo, and reassignment. `rebuild`
recomputes it whole (the migration that introduced it, and tools that write items
directly).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, cast

from sqlalchemy import Select, Table, delete, select
from sqlalchemy.orm import Session

from rectify_core import bulk
from rectify_core.config.people import split_names
from rectify_core.identity import person_name
from rectify_core.ledger import db
from rectify_core.ledger.models import Item, ItemHolder

BATCH = 5000


def key_of(name: str) -> str:
    """How the index spells a person: the normalised name (identity.person_name)."""
    return person_name(name)[:100]


def held_by(name: str, role: str | None = None) -> Select[int]:
    """The ids of the items whose cells name `name` (as owner or leader; or in `role`):
    the one answer to "which items does this person hold", for reassignment, the digest's
    headline, links and pages alike. Names compare normalised (王 五 holds what 王五 holds)."""
    query = select(ItemHolder.item_id).where(ItemHolder.name == key_of(name))
    return query if role is None else query.where(ItemHolder.role == role)


def rows(item_id: int, owner: str | None, leader: str | None) -> list[dict[str, Any]]:
    return [{"item_id": item_id, "role": role, "name": key} for role, key in _keys(owner, leader)]


def _keys(owner: str | None, leader: str | None) -> list[tuple[str, str]]:
    """(role, normalised name) of each person the cells name, once each."""
    found: dict[tuple[str, str], None] = {}
    for role, text in (("owner", owner), ("leader", leader)):
        for name in split_names(text):
            key = key_of(name)
            if key:
                found.setdefault((role, key))
    return list(found)


def add(items: Iterable[tuple[int, str | None, str | None]], *, session: Session,
        into: bulk.Writer | None = None) -> None:
    """Index new items, given as (id, owner, leader); the cells a ledger repeats are read
    once. Written by `into` when given (a run of inserts), else at once."""
    batch: list[dict[str, Any]] = []
    table = cast(Table, ItemHolder.__table__)
    insert = into.insert_all if into is not None else partial(bulk.insert_all, session)
    known: dict[tuple[str | None, str | None], list[tuple[str, str]]] = {}
    for item_id, owner, leader in items:
        keys = known.get((owner, leader))
        if keys is None:
            keys = known[(owner, leader)] = _keys(owner, leader)
        batch += [{"item_id": item_id, "role": role, "name": key} for role, key in keys]
        if len(batch) >= BATCH:
            insert(table, batch)
            batch = []
    insert(table, batch)


def drop(item_ids: list[int], *, session: Session) -> None:
    for chunk in db.id_chunks(item_ids, BATCH):
        session.execute(delete(ItemHolder).where(ItemHolder.item_id.in_(chunk)))


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
