"""Personal links: a signed, expiring token bound to one person (unit, name).

    v1.<payload>.<signature>     payload = base64url(JSON {"u": unit, "n": name, "i": issued (ms), "k": link id})
                                 signature = base64url(HMAC-SHA256(secret, "rectify-link.v1." + payload))

The secret comes from RECTIFY_WEB_SECRET and is never stored. A token is good for
`link_days` after it was issued (read at check time, so shortening the setting takes
effect at once) unless the person's links were revoked after it was issued. Every
check compares in constant time. The link id (`k`) names the link in the events an
action writes ("from which link"); it is random, not a secret.
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.process import extract
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from rectify_core import signing
from rectify_core.config.people import ANY_UNIT, Directory
from rectify_core.config.web import WebConfig, web_secret
from rectify_core.errors import NotFoundError
from rectify_core.identity import person_name
from rectify_core.ledger import holders, units
from rectify_core.ledger.models import AppSetting, Item, ItemHolder, LinkRevocation, Person, Round, Unit
from rectify_core.vocab import ACTIVE

_PREFIX = "v1"
MAX_ISSUED_MS = 253402300799000  # 9999-12-31T23:59:59Z: a later "issue time" is no link of ours

class LinkError(Exception):
    """Why a token does not open: a message for the person and whether to count it as a
    bad try (tampered or malformed tokens are; expired or revoked links are not)."""

    def __init__(self, message: str, suspicious: bool) -> None:
        super().__init__(message)
        self.suspicious = suspicious


@dataclass(frozen=True)
class Holder:
    """Whom a verified link belongs to."""

    unit: str
    name: str
    issued: dt.datetime
    link: str  # the link id, for events
    by_hand: bool = False  # issued on /admin and shown to a clerk: it reads and reports, never decides


def issue(secret: bytes, unit: str, name: str, now: dt.datetime, *, by_hand: bool = False) -> str:
    """A new token for (unit, name), issued at `now`; `by_hand`: one a clerk is shown (to
    pass on), which cannot approve, reject or verify: the clerk holding it is not the person."""
    body: dict[str, object] = {"u": unit, "n": name, "i": int(now.timestamp() * 1000),
                               "k": secrets.token_hex(4)}  # ms
    if by_hand:
        body["h"] = 1
    payload = signing.b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{_PREFIX}.{payload}.{signing.sign(secret, signing.LINK, payload)}"


def verify(secret: bytes, token: str, now: dt.datetime, link_days: int) -> Holder:
    """The holder of a well-signed, unexpired token; LinkError otherwise. Revocation is
    checked separately (`check_revoked`), as it needs the database."""
    parts = token.split(".")
    if len(token) > 2048 or len(parts) != 3 or parts[0] != _PREFIX:
        raise LinkError("链接无效：请使用督办通知中的完整链接", suspicious=True)
    _, payload, signature = parts
    if not signing.verify(secret, signing.LINK, payload, signature):
        raise LinkError("链接无效或已被改动：请使用督办通知中的完整链接", suspicious=True)
    try:
        body = json.loads(signing.unb64(payload))
        issued = int(body["i"])
        if not 0 <= issued <= MAX_ISSUED_MS:  # bounded before any date arithmetic
            raise ValueError(issued)
        holder = Holder(str(body["u"]), str(body["n"]), dt.datetime.fromtimestamp(issued / 1000, dt.UTC),
                        str(body["k"]), body.get("h") == 1)
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError, OSError):
        raise LinkError("链接无效：请使用督办通知中的完整链接", suspicious=True) from None
    if now >= holder.issued + dt.timedelta(days=link_days):
        raise LinkError(f"链接已过期（有效期 {link_days} 天）：请使用最近一次督办通知中的链接，"
                        "或联系巡察整改工作办公室", suspicious=False)
    if holder.issued > now + dt.timedelta(minutes=5):
        raise LinkError("链接无效：签发时间晚于现在", suspicious=True)
    return holder


_REVOKED = select(LinkRevocation.unit, LinkRevocation.revoked_at).where(
    LinkRevocation.name.in_(bindparam("names", expanding=True)))


def check_revoked(holder: Holder, *, session: Session) -> None:
    """Refuse a link issued before its person's links were revoked. People are matched as
    pages match them: by their names' normal form, in their unit."""
    name, unit = person_name(holder.name), person_name(holder.unit)
    rows = session.connection().execute(_REVOKED, {"names": sorted({name, holder.name})})
    revoked = max((at for u, at in rows if person_name(u) == unit), default=None)
    if revoked is not None and holder.issued <= revoked:
        raise LinkError("此链接已被收回：请使用之后收到的督办通知中的新链接，或联系巡察整改工作办公室",
                        suspicious=False)


def known_person(unit: str, name: str, directory: Directory, *, session: Session,
                 others: bool = True) -> tuple[str, str]:
    """(unit, name) as rectify knows them: the unit by its full or short name (spelling
    aside), the person holding an item there, recorded there by an import, or in the
    contacts of that unit. NotFoundError names what did match (`others`: the other units
    where the name holds items, for whoever may see them): a typo, a person of another
    unit or an unknown unit must not silently issue or revoke anything."""
    found = units.find_unit(unit, session=session)
    key = person_name(name)
    people = _people_of(found, directory, session=session)
    if not key or key not in people:
        close = [p for p, _, _ in extract(key, list(people), scorer=fuzz.ratio, limit=5, score_cutoff=40)] \
            if key else []
        elsewhere = sorted({u for (u,) in session.execute(
            select(Unit.name).join(Round, Round.unit_id == Unit.id).join(Item, Item.round_id == Round.id)
            .join(ItemHolder, ItemHolder.item_id == Item.id).where(ItemHolder.name == key, Unit.id != found.id))}
            if others else ())
        hint = (f"；{name.strip()}在{'、'.join(elsewhere)}" if elsewhere else "") + (
            f"；{found.name}相近的人：{'、'.join(people[p] for p in close)}" if close else "")
        raise NotFoundError(f"{found.name}没有名为“{name.strip()}”的人（不是任何问题的责任人或责任领导，"
                            f"也不在联系人中）{hint}")
    return found.name, key


def _people_of(unit: Unit, directory: Directory, *, session: Session) -> dict[str, str]:
    """Everyone rectify knows in a unit, by name key: item holders, people an import
    recorded, and the unit's contacts."""
    names = list(session.scalars(select(ItemHolder.name).distinct().join(Item, ItemHolder.item_id == Item.id)
                                 .join(Round, Item.round_id == Round.id).where(Round.unit_id == unit.id)))
    names += list(session.scalars(select(Person.name).where(Person.unit_id == unit.id)))
    names += [c.name for c in directory.contacts if c.unit in (unit.name, ANY_UNIT)]
    return {person_name(n): n for n in names if n}


def open_items_of(unit: str, key: str, *, session: Session) -> int:
    """How many open or ongoing items (unit, person) holds."""
    return session.scalar(select(func.count(Item.id)).join(Round, Item.round_id == Round.id)
                          .join(Unit, Round.unit_id == Unit.id)
                          .where(Unit.name == unit, Item.id.in_(holders.held_by(key)), Item.status.in_(ACTIVE))) or 0


def revoke(unit: str, name: str, by: str, now: dt.datetime, directory: Directory, *, session: Session) -> str:
    """Every link of (unit, name) issued up to now stops working, however the name was
    spelled in them; the next digest brings a new one. Returns the unit as rectify knows it."""
    unit, name = known_person(unit, name, directory, session=session)
    row = session.scalar(select(LinkRevocation).where(LinkRevocation.unit == unit, LinkRevocation.name == name))
    if row is None:
        session.add(LinkRevocation(unit=unit, name=name, revoked_at=now, revoked_by=by))
    else:
        row.revoked_at, row.revoked_by = now, by
    session.flush()
    return unit


@dataclass(frozen=True)
class LinkMaker:
    """What a delivery run needs to put a personal link in each digest."""

    secret: bytes
    base_url: str

    def url(self, unit: str, name: str, now: dt.datetime, *, by_hand: bool = False) -> str:
        return f"{self.base_url}/p/{issue(self.secret, unit, name, now, by_hand=by_hand)}"


BASE_URL_ENV = "RECTIFY_WEB_BASE_URL"
BASE_URL_KEY = "web.base_url"


def record_base_url(url: str, now: dt.datetime, *, session: Session) -> None:
    """`rectify web --base-url URL` records where it is reached, so that digests sent by
    other processes (notify, serve, workers) link there without a config of their own."""
    row = session.get(AppSetting, BASE_URL_KEY)
    if row is None:
        session.add(AppSetting(key=BASE_URL_KEY, value=url, updated_at=now))
    else:
        row.value, row.updated_at = url, now


def base_url(config: WebConfig, *, session: Session) -> str:
    """Where links point: RECTIFY_WEB_BASE_URL, else web.toml's base_url, else what
    `rectify web --base-url` recorded; "" when none (digests then carry no link)."""
    found = os.environ.get(BASE_URL_ENV) or config.base_url
    if not found:
        found = session.scalar(select(AppSetting.value).where(AppSetting.key == BASE_URL_KEY)) or ""
    return found.rstrip("/")


def link_maker(config: WebConfig, *, session: Session) -> LinkMaker | None:
    """A LinkMaker when both a base URL and the secret are set; else digests carry no link."""
    secret = web_secret(required=False)
    base = base_url(config, session=session) if secret else ""
    return LinkMaker(secret, base) if secret and base else None
