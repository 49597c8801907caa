"""The tables rectify web keeps: uploaded files, revoked links, settings recorded by the
server, and the bad tries every worker counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from rectify_core.ledger.columns import UTCDateTime, VocabText
from rectify_core.ledger.models.core import (
    Base,
)
from rectify_core.vocab import AccountRole


class Upload(Base):
    """A file sent from a personal link: stored under the data directory by its SHA-256,
    never under the name the sender gave (kept here for display only)."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class LinkRevocation(Base):
    """Personal links of (unit, name) issued before `revoked_at` no longer open."""

    __tablename__ = "link_revocations"
    __table_args__ = (UniqueConstraint("unit", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class AppSetting(Base):
    """A value rectify records for its other processes (e.g. the address `rectify web
    --base-url` was given, for the digests' links). Never a secret."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class WebFailure(Base):
    """One bad try at rectify web (a forged link, a wrong admin password) from a client:
    the rate limit every worker shares. Rows older than the window are deleted."""

    __tablename__ = "web_failures"
    __table_args__ = (Index("ix_web_failures_client_at", "client", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Account(Base):
    """A login to the clerk's pages (/admin): a unit's clerk, the office above the units,
    or a viewer, scoped to one unit or to all. The password is kept as a scrypt hash;
    `changed_at` moves when it changes, which ends every session signed in before."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password: Mapped[str] = mapped_column(String(255))
    role: Mapped[AccountRole] = mapped_column(VocabText(AccountRole, 20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # None: every unit
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    name: Mapped[str | None] = mapped_column(String(100))  # the person who uses it, as events name them
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # set: signs in no more


class AdminAction(Base):
    """One write made through the clerk's pages: who (account), when, over which unit, and
    what, in a sentence. The office's audit page reads these."""

    __tablename__ = "admin_actions"
    __table_args__ = (Index("ix_admin_actions_unit_at", "unit", "at"), Index("ix_admin_actions_login", "login"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    login: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(Text, default="")  # "" the county's, no one unit's
    what: Mapped[str] = mapped_column(Text)
