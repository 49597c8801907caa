"""The office's context: one object owning what every edge (the command line, the web,
the flows) works over — the database engine, migrated once; the settings, read once; the
record's file store; the clock; and the people directory, always with the holders the
imports recorded.

The edges wrap an Office instead of building their own engines and settings, so the three
never disagree on which database, which config folder or who holds a role.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from rectify_core.config.calendar import Clock, wall_clock
from rectify_core.config.people import Directory
from rectify_core.config.settings import Settings, load_settings
from rectify_core.ledger import db, uploads


class Office:
    """What one rectify installation works over. Nothing is opened until it is asked for."""

    def __init__(self, url: str, config: Path | None = None, *, settings: Settings | None = None,
                 engine: Engine | None = None, files: Path | None = None, clock: Clock = wall_clock,
                 migrated: bool = False) -> None:
        """`url` names the database and `config` the config folder (None: the defaults). A
        caller that already holds the settings or an engine hands them in; `migrated` says
        the schema is known to be current (a web worker, started after `rectify web`
        migrated), so the engine is not migrated again."""
        self.url, self.config, self.clock = url, config, clock
        self._settings, self._engine, self._files, self._migrated = settings, engine, files, migrated

    @property
    def engine(self) -> Engine:
        """The database engine, its schema migrated on first use (once per process)."""
        if self._engine is None:
            self._engine = db.make_engine(self.url)
        if not self._migrated:
            db.migrate(self._engine)
            self._migrated = True
        return self._engine

    @cached_property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else load_settings(self.config)

    @property
    def files(self) -> Path:
        """The record's file store (evidence and uploads)."""
        return self._files if self._files is not None else uploads.files_root(self.url)

    def now(self) -> dt.datetime:
        return self.clock()

    def directory(self, session: Session) -> Directory:
        """Who is who: the contacts of config/contacts.toml with the role holders the
        imports recorded (obligations.directory)."""
        from rectify_core.ledger import obligations  # (the planner's modules: only commands that plan)

        return obligations.directory(self.settings, session=session)

    def close(self) -> None:
        """Give back the database connections (a command run in-process leaves none open)."""
        if self._engine is not None:
            self._engine.dispose()
