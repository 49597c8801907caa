"""Accounts for the clerk's pages (/admin), and what each may see and do.

- clerk: one unit's clerk — that unit's ledger, requests, links and downloads, nothing else;
- office: the office above the units (a county 巡察办) — every unit, with a unit filter and
  the county's downloads;
- viewer: reads (one unit or all), changes nothing.

Passwords are kept as scrypt hashes (`hashlib.scrypt`, a memory-hard KDF in the standard
library; no new dependency) with a random salt per account, and compared in constant time.
The single admin token of earlier versions (RECTIFY_WEB_ADMIN_TOKEN) signs in only while
no account exists, to set up the first; after that it opens nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rectify_core import signing
from rectify_core.errors import NotFoundError, RectifyError
from rectify_core.ledger.models import Account, AppSetting, Unit
from rectify_core.vocab import AccountRole

ROLES = AccountRole.labels()
MIN_PASSWORD = 12
_LOGIN = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
# scrypt cost: 2**14 x 8 x 1 is 16 MB and some 50 ms a check, as OWASP suggests
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 2**20, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                               maxmem=64 * 2**20, dklen=len(base64.b64decode(key)))
    except (ValueError, TypeError):
        return False
    return signing.same(given, base64.b64decode(key))


@functools.cache
def _dummy() -> str:
    """A hash to check an unknown login against: a wrong login takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def check_password(password: str, login: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise RectifyError(f"密码过短：至少 {MIN_PASSWORD} 个字符（建议使用随机生成的口令）")
    if password.strip().lower() == login.lower() or len(set(password)) < 4:
        raise RectifyError("密码过于简单：不能与登录名相同，也不能由少数几个字符重复组成")


@dataclass(frozen=True)
class Scope:
    """Who is signed in, and over what."""

    login: str
    role: str
    unit: str | None  # None: every unit
    account_id: int | None = None  # None: the bootstrap token
    name: str = ""  # the person who uses the account, when recorded

    @property
    def actor(self) -> str:
        """How an event names a write made through the web: 王芳（网页，账号 jt）."""
        return f"{self.name or self.login}（网页，账号 {self.login}）"

    @property
    def writes(self) -> bool:
        return self.role != AccountRole.VIEWER

    def sees(self, unit: str) -> bool:
        return self.unit is None or self.unit == unit

    @property
    def label(self) -> str:
        return f"{self.login}（{ROLES.get(self.role, self.role)}{'，' + self.unit if self.unit else ''}）"


def add(login: str, password: str, role: str, unit: Unit | None, now: dt.datetime, *, session: Session,
        name: str = "") -> Account:
    login = login.strip()
    if not _LOGIN.fullmatch(login):
        raise RectifyError(f"登录名“{login}”不可用：请用 2–64 个英文字母、数字或 _ . @ -")
    if session.scalar(select(Account.id).where(Account.login == login)) is not None:
        raise RectifyError(f"登录名“{login}”已存在", hint="rectify accounts 可查看全部账号")
    if role not in ROLES:
        raise RectifyError(f"未知的角色“{role}”（可用：{'、'.join(ROLES)}）")
    if role == AccountRole.CLERK and unit is None:
        raise RectifyError("单位管理员须指定所属单位", hint="--unit 单位")
    if role == AccountRole.OFFICE and unit is not None:
        raise RectifyError("巡察办账号管理全部单位，不属于某一个单位", hint="--all")
    check_password(password, login)
    if len(name.strip()) > 100:
        raise RectifyError("使用人姓名过长（不超过 100 字）")
    account = Account(login=login, password=hash_password(password), role=role, name=name.strip() or None,
                      unit_id=unit.id if unit else None, created_at=now, changed_at=now)
    session.add(account)
    session.flush()
    return account


def find(login: str, *, session: Session) -> Account:
    account = session.scalar(select(Account).where(Account.login == login.strip()))
    if account is None:
        raise NotFoundError(f"没有登录名为“{login.strip()}”的账号", hint="rectify accounts 可查看全部账号")
    return account


def change_password(account: Account, password: str, now: dt.datetime) -> None:
    check_password(password, account.login)
    account.password, account.changed_at = hash_password(password), now  # earlier sessions end


def one_time_password() -> str:
    """A password to hand over once (the person changes it, or the office resets it again)."""
    return secrets.token_urlsafe(12)


def set_disabled(account: Account, disabled: bool, now: dt.datetime) -> None:
    """Disable an account (it signs in no more, its sessions end) or enable it again."""
    account.disabled_at = now if disabled else None
    account.changed_at = now


def sign_in(login: str, password: str, bootstrap: str | None, *, session: Session) -> Scope | None:
    """The scope `login` and `password` open, or None (which part was wrong is not said).
    The bootstrap token opens the office's scope only while there is no account at all."""
    account = session.scalar(select(Account).where(Account.login == login.strip()))
    if account is None:
        password_matches(password, _dummy())  # as long as a real check
        no_accounts = session.scalar(select(Account.id).limit(1)) is None
        if bootstrap and no_accounts and signing.same(password.encode(), bootstrap.encode()):
            return Scope(login.strip() or "admin", AccountRole.OFFICE, None)
        return None
    if not password_matches(password, account.password) or account.disabled_at is not None:
        return None
    return scope_of(account, session=session)


def scope_of(account: Account, *, session: Session) -> Scope:
    unit = session.get(Unit, account.unit_id) if account.unit_id is not None else None
    return Scope(account.login, account.role, unit.name if unit else None, account.id, account.name or "")


def listing(*, session: Session) -> list[dict[str, object]]:
    rows = session.execute(select(Account, Unit.name).outerjoin(Unit, Account.unit_id == Unit.id)
                           .order_by(Account.login)).all()
    return [{"login": a.login, "role": a.role, "role_name": ROLES.get(a.role, a.role), "unit": unit,
             "name": a.name, "disabled": a.disabled_at is not None,
             "created_at": a.created_at.isoformat(), "changed_at": a.changed_at.isoformat()} for a, unit in rows]


# --- the signed-in session: a cookie naming the account, when it was signed, and a MAC over
# both, the account's `changed_at` (a new password or a removed account ends it) and its
# session epoch (a logout ends every session of the account, copies of the cookie too) --------

SESSION_HOURS = 12


def _payload(account_id: int, stamp: int, account: Account | None, *, session: Session) -> str:
    return f"{account_id}.{stamp}.{_changed(account)}.{_epoch(account_id, session=session)}"


def _epoch_key(account_id: int) -> str:
    return f"admin-session-epoch:{account_id}"  # 0: the bootstrap token's session


def _epoch(account_id: int, *, session: Session) -> str:
    row = session.get(AppSetting, _epoch_key(account_id))
    return row.value if row is not None else "0"


def end_sessions(scope: Scope, now: dt.datetime, *, session: Session) -> None:
    """Logout: every session cookie of this account (or of the bootstrap token) stops
    opening the clerk's pages, a copied one too."""
    key = _epoch_key(scope.account_id or 0)
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value="1", updated_at=now))
    else:
        row.value, row.updated_at = str(int(row.value) + 1), now
    session.flush()


def _changed(account: Account | None) -> int:
    return round(account.changed_at.timestamp() * 1_000_000) if account is not None else 0


def session_cookie(secret: bytes, scope: Scope, now: dt.datetime, *, session: Session) -> str:
    account = session.get(Account, scope.account_id) if scope.account_id is not None else None
    aid, stamp = scope.account_id or 0, int(now.timestamp())
    return f"{aid}.{stamp}.{signing.sign(secret, signing.SESSION, _payload(aid, stamp, account, session=session))}"


def from_cookie(secret: bytes, value: str, now: dt.datetime, bootstrap: str | None, *,
                session: Session) -> Scope | None:
    """The scope a session cookie still opens: signed by us, younger than SESSION_HOURS,
    for an account that still exists with the same password (or, for the bootstrap token's
    session, while no account exists and the token is still set)."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18:
        return None
    aid, stamp = int(parts[0]), int(parts[1])
    if not 0 <= now.timestamp() - stamp < SESSION_HOURS * 3600:
        return None
    account = session.get(Account, aid) if aid else None
    if aid and account is None:
        return None
    if not signing.verify(secret, signing.SESSION, _payload(aid, stamp, account, session=session), parts[2]):
        return None
    if account is not None:
        return scope_of(account, session=session) if account.disabled_at is None else None
    no_accounts = session.scalar(select(Account.id).limit(1)) is None
    return Scope("admin", AccountRole.OFFICE, None) if bootstrap and no_accounts else None
