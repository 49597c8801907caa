"""What every flow run needs: its clock reading, database and settings, read once."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from prefect.concurrency.sync import concurrency
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.exc import OperationalError

from rectify_core import masking
from rectify_core.config.calendar import local_today, run_now
from rectify_core.config.settings import Settings, resolve_config_dir
from rectify_core.errors import RectifyError
from rectify_core.ledger import db
from rectify_core.ledger.office import Office


@dataclass(frozen=True)
class RunContext:
    now: dt.datetime
    today: dt.date
    url: str
    config: Path | None
    unit: str | None

    @property
    def office(self) -> Office:
        """The office this run works over: one per database and config folder in a worker
        process, its engine migrated once, whatever number of runs the process takes."""
        return _office(self.url, self.config)

    @property
    def engine(self) -> Engine:
        return self.office.engine

    @property
    def settings(self) -> Settings:
        return self.office.settings

    @property
    def unit_slug(self) -> str:
        return hashlib.sha1((self.unit or "").encode()).hexdigest()[:10]


@cache
def _office(url: str, config: Path | None) -> Office:
    return Office(url, config)


def context(date: str | None, config_dir: str | None, unit: str | None, database_url: str | None) -> RunContext:
    """The clock is read here, once per run: a given date means 09:00 Asia/Shanghai."""
    masking.install()
    now = run_now(dt.date.fromisoformat(date) if date else None)
    config = resolve_config_dir(Path(config_dir) if config_dir else None)
    return RunContext(now, local_today(now), db.database_url(database_url), config, unit)


@contextmanager
def unit_lock(unit: str | None) -> Iterator[None]:
    """Two runs never work the same unit at once (a global concurrency limit of 1 per
    unit, created on first use). Runs over all units take no lock."""
    if unit is None:
        yield
        return
    name = "rectify-unit-" + hashlib.sha1(unit.encode()).hexdigest()[:10]
    _ensure_limit(name)
    with concurrency(name, occupy=1, strict=True):
        yield


def _ensure_limit(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))


@contextmanager
def database_errors_explained() -> Iterator[None]:
    """A database fault (a full disk, a restarted server) ends the run in the clerk's
    words, as the CLI says them, not in a driver's traceback."""
    try:
        yield
    except (OperationalError, SQLAlchemyDatabaseError) as exc:
        meaning = db.explain(exc)
        if meaning is None:
            raise
        raise RectifyError(f"{meaning}。数据库未作任何改动") from None
