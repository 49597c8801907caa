"""Addressing work notices (WeCom application messages, DingTalk 工作通知) to one person.

A `wecomapp://` or `dingwork://` channel names the application, not the person: at send
time the person's mobile number from contacts.toml is added as the target, with the user
id rectify remembers for it (or one written in contacts.toml). What a send learns (a user
id found by mobile; one the platform refused) is written back at once, so each person is
looked up once, and again only when the platform says the id is no longer valid.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import Engine, delete, select

from rectify_core.config.people import WORK_APPS, Contact
from rectify_core.ledger import db
from rectify_core.ledger.models import ImUser
from rectify_core.masking import ENV_VAR

if TYPE_CHECKING:  # apps loads Apprise: only a send needs it, not every command
    from rectify_core.delivery.apps import Outcome

APPS = WORK_APPS
Key = tuple[str, str, str]  # (platform, account, mobile)


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


def account_of(url: str) -> str:
    """The CorpID or AppKey of an app URL (the part before the secret), ${VAR}s expanded:
    not a secret, and what the remembered user ids are kept under."""
    rest = url.split("://", 1)[-1]
    account = rest.split("@", 1)[0].split(":", 1)[0] if "@" in rest else ""
    return ENV_VAR.sub(lambda m: os.environ.get(m.group(1), ""), account)


def targeted(url: str, target: str, userid: str | None) -> str:
    """`url` with the person added: /TARGET before the query, and uid= when known."""
    base, _, query = url.partition("?")
    params = [p for p in query.split("&") if p and not p.startswith("uid=")]
    if userid and not target.startswith("@"):
        params.append(f"uid={quote(userid, safe='')}")
    return f"{base.rstrip('/')}/{quote(target, safe='@')}" + (f"?{'&'.join(params)}" if params else "")


@dataclass
class UserIds:
    """The user ids rectify remembers, read once per run and kept up to date as sends learn."""

    engine: Engine
    known: dict[Key, str] = field(default_factory=dict)

    @classmethod
    def load(cls, engine: Engine) -> UserIds:
        with db.session_factory(db.reader(engine))() as session:
            rows = session.execute(select(ImUser.platform, ImUser.account, ImUser.mobile, ImUser.userid)).all()
        return cls(engine, {(p, a, m): u for p, a, m, u in rows})

    def address(self, url: str, contact: Contact | None) -> str:
        """The channel URL addressed to `contact` (other channels pass unchanged). Without a
        mobile number or user id the URL stays without a target, and the send says so."""
        scheme = scheme_of(url)
        if scheme not in APPS or contact is None:
            return url
        mobile = contact.mobile
        userid = (self.known.get((scheme, account_of(url), mobile)) if mobile else None) or contact.userid(scheme)
        if mobile:
            return targeted(url, mobile, userid)
        return targeted(url, f"@{userid}", None) if userid else url

    def learn(self, outcomes: Iterable[Outcome], now: dt.datetime) -> None:
        """Remember user ids found by mobile; forget ones the platform refused."""
        changed = [o for o in outcomes if o.mobile and (o.learned or o.forgot)]
        if not changed:
            return
        with db.transaction(self.engine) as session:
            for o in changed:
                assert o.mobile is not None
                key = (o.platform, o.account, o.mobile)
                session.execute(delete(ImUser).where(ImUser.platform == o.platform, ImUser.account == o.account,
                                                     ImUser.mobile == o.mobile))
                if o.learned and o.userid:
                    session.add(ImUser(platform=o.platform, account=o.account, mobile=o.mobile, userid=o.userid,
                                       looked_up_at=now))
                    self.known[key] = o.userid
                else:
                    self.known.pop(key, None)
