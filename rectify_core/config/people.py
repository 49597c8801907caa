"""Who is who: people by role per unit, from the ledger and from config/contacts.toml.

Owners and leaders are named on each item; the first responsible (第一责任人) and the
inspection office (巡察办) are per unit. Channels (Apprise URLs or tags) live only in
the config file; URLs may reference secrets as ${ENV_VAR}, expanded at send time.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rectify_core import masking, names
from rectify_core.config.files import optional, read_toml
from rectify_core.errors import ConfigError
from rectify_core.identity import person_name
from rectify_core.vocab import CONTACT_ROLES

ANY_UNIT = "*"


@dataclass(frozen=True)
class Contact:
    name: str
    unit: str = ANY_UNIT
    roles: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    supervisor: str | None = None
    title: str | None = None  # 职务, for the salutation: 党组副书记、副局长胡志云同志
    mobile: str | None = None  # addresses work notices (WeCom, DingTalk) by the platform's user id found from it
    wecom_userid: str | None = None
    dingtalk_userid: str | None = None
    department: str | None = None  # with the department_head role: the 责任部门 they head
    email: str | None = None  # fills {email} in a channel's URL (a unit's mail server, named in [channels])
    kept_id: int | None = None  # the database's record of this person (rectify people, /admin/people); None:
    # from contacts.toml

    @property
    def kept(self) -> bool:
        return self.kept_id is not None

    def userid(self, scheme: str) -> str | None:
        """The user id written in contacts.toml for a work platform's channel, if any."""
        return {"wecomapp": self.wecom_userid, "dingwork": self.dingtalk_userid}.get(scheme)


DEFAULT_OFFICE = "巡察整改工作办公室"
WORK_APPS = ("wecomapp", "dingwork")  # work platforms that address a person by mobile or user id
SENDER_KEYS = ("office", "to", "cc", "number")


@dataclass
class Directory:
    """Role holders per unit and everyone's channels."""

    contacts: list[Contact] = field(default_factory=list)
    admin: Contact | None = None
    channels: dict[str, str] = field(default_factory=dict)  # named (tagged) channels
    office: str = DEFAULT_OFFICE  # who signs the digests ([sender] office in contacts.toml)
    addressed: dict[str, str] = field(default_factory=dict)  # the bulletin's 主送 (to), 抄送 (cc), 文号 (number)
    # (unit, role) -> names, from the database (imported reports and ledgers)
    held: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    # normalised name -> contacts, made on first use (and again if contacts were added)
    _by_name: dict[str, list[Contact]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_role: dict[tuple[str, str], list[Contact]] = field(default_factory=dict, init=False, repr=False,
                                                          compare=False)
    _holders: dict[tuple[str, str, int], tuple[tuple[str, str], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    _indexed: int = field(default=-1, init=False, repr=False, compare=False)

    def holders(self, unit: str, role: str) -> list[str]:
        return [name for name, _ in self.holders_in(unit, role)]

    def holders_in(self, unit: str, role: str) -> list[tuple[str, str]]:
        """(name, the unit that person belongs to) for everyone holding `role` for `unit`:
        recorded by imports, then the unit's own contacts, then contacts serving every unit.
        Remembered per (unit, role) until the contacts or the recorded holders change."""
        recorded = self.held.get((unit, role), [])
        by_role = self._index()[1]
        key = (unit, role, len(recorded))
        if (known := self._holders.get(key)) is not None:
            return list(known)
        found: dict[str, tuple[str, str]] = {}
        for name in recorded:
            found.setdefault(person_name(name), (name, unit))
        for wanted in (unit, ANY_UNIT):
            for c in by_role.get((wanted, role), []):
                found.setdefault(person_name(c.name), (c.name, c.unit))
        self._holders[key] = tuple(found.values())
        return list(found.values())

    def _index(self) -> tuple[dict[str, list[Contact]], dict[tuple[str, str], list[Contact]]]:
        """Contacts by normalised name and by (unit, role), made in one pass on first use
        (and again if contacts were added): lookups per item must not scan them."""
        if self._indexed != len(self.contacts):
            names: dict[str, list[Contact]] = defaultdict(list)
            roles: dict[tuple[str, str], list[Contact]] = defaultdict(list)
            for c in self.contacts:
                names[person_name(c.name)].append(c)
                for r in c.roles:
                    roles[(c.unit, r)].append(c)
            self._by_name, self._by_role, self._indexed = dict(names), dict(roles), len(self.contacts)
            self._holders = {}
        return self._by_name, self._by_role

    def department_heads(self, unit: str, department: str) -> list[tuple[str, str]]:
        """(name, unit) of whoever heads `department` of `unit` (role department_head)."""
        wanted, by_role = person_name(department), self._index()[1]
        return [(c.name, c.unit) for scope in (unit, ANY_UNIT) for c in by_role.get((scope, "department_head"), [])
                if person_name(c.department or "") == wanted]

    def urls(self, contact: Contact) -> list[str]:
        """A contact's channel URLs in order of preference: names resolved, {email} and
        {mobile} filled in from the contact. A channel this person cannot be reached on (its
        address missing, or a name no longer configured) is left out."""
        out = []
        for entry in contact.notify:
            url = self.channels.get(entry, entry)
            if "://" not in url:
                continue
            if "{email}" in url:
                if not contact.email:
                    continue
                url = url.replace("{email}", quote(contact.email, safe="@"))
            if "{mobile}" in url:
                if not contact.mobile:
                    continue
                url = url.replace("{mobile}", contact.mobile)
            out.append(url)
        return out

    def contact(self, name: str, unit: str | None = None) -> Contact | None:
        """The contact of (unit, name): the unit's own entry, else one serving every unit.
        Never another unit's namesake: homonyms in two units are two people."""
        matches = self._index()[0].get(person_name(name), [])
        for scope in (unit, ANY_UNIT):
            for c in matches:
                if c.unit == scope:
                    return c
        return None


def split_names(text: str | None) -> list[str]:
    """The people a cell names (see rectify_core.names: departments and titles are not people)."""
    return names.split_names(text)


def _contact(source: str, n: int, raw: Any) -> Contact:
    key = f"person[{n}]"
    if not isinstance(raw, dict):
        raise ConfigError(source, key, "应为 [[person]] 表")
    unknown = set(raw) - set(_KEYS)
    if unknown:
        raise ConfigError(source, f"{key}.{sorted(unknown)[0]}", f"未知的配置项（可用：{'、'.join(_KEYS)}）")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(source, f"{key}.name", "应为非空的姓名")
    roles = raw.get("roles", [])
    if not isinstance(roles, list) or any(r not in CONTACT_ROLES for r in roles):
        raise ConfigError(source, f"{key}.roles", f"应为角色列表，可用：{'、'.join(CONTACT_ROLES)}")
    notify = raw.get("notify", [])
    if not isinstance(notify, list) or any(not isinstance(u, str) or not u.strip() for u in notify):
        raise ConfigError(source, f"{key}.notify", "应为通知地址列表（Apprise URL 或标签），按优先顺序")
    unit = raw.get("unit", ANY_UNIT)
    texts = {k: raw.get(k) for k in ("supervisor", "title", "wecom_userid", "dingtalk_userid", "department")}
    if not isinstance(unit, str) or any(v is not None and not isinstance(v, str) for v in texts.values()):
        raise ConfigError(source, key, "unit、supervisor、title、wecom_userid、dingtalk_userid 与 department 应为文字")
    if "department_head" in roles and not (texts["department"] or "").strip():
        raise ConfigError(source, f"{key}.department", "部门负责人（department_head）须写明所负责的部门")
    email = raw.get("email")
    if email is not None and (not isinstance(email, str) or normal_email(email) is None):
        raise ConfigError(source, f"{key}.email", f"应为电子邮箱地址，如 \"wangfang@example.gov.cn\"；实际为 {email!r}")
    return Contact(name.strip(), unit.strip(), tuple(roles), tuple(notify), texts["supervisor"], texts["title"],
                   _mobile(source, f"{key}.mobile", raw.get("mobile")),
                   (texts["wecom_userid"] or "").strip() or None, (texts["dingtalk_userid"] or "").strip() or None,
                   (texts["department"] or "").strip() or None, normal_email(email) if email else None)


_KEYS = ("name", "unit", "roles", "notify", "supervisor", "title", "mobile", "email", "wecom_userid",
         "dingtalk_userid", "department")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


def normal_mobile(value: str | int) -> str | None:
    """A mainland mobile number as 11 digits (spaces, hyphens and +86 dropped), or None
    when it is not one."""
    digits = re.sub(r"[\s\-－()（）]", "", str(value))
    digits = digits.removeprefix("+86").removeprefix("0086")
    return digits if _MOBILE.fullmatch(digits) else None


def normal_email(value: str) -> str | None:
    """An email address as written, trimmed, or None when it is not one."""
    text = value.strip()
    return text if _EMAIL.fullmatch(text) else None


def _mobile(source: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    digits = normal_mobile(value) if isinstance(value, str | int) else None
    if digits is None:
        raise ConfigError(source, key, f"应为 11 位手机号，如 \"13800000000\"；实际为 {value!r}")
    return digits


def needs(url: str) -> str | None:
    """What a channel needs of a person to reach them: "email" ({email} in its URL),
    "mobile" ({mobile}, or a work platform that addresses people by mobile), or None (a
    shared channel: a group bot, a fixed mailbox)."""
    if "{email}" in url:
        return "email"
    if "{mobile}" in url or url.split("://", 1)[0].lower() in WORK_APPS:
        return "mobile"
    return None


def parse_contacts(data: dict[str, Any], source: str) -> Directory:
    unknown = set(data) - {"person", "admin", "channels", "sender"}
    if unknown:
        raise ConfigError(source, sorted(unknown)[0], "未知的配置节（可用：person、admin、channels、sender）")
    sender = data.get("sender", {})
    office = sender.get("office", DEFAULT_OFFICE) if isinstance(sender, dict) else None
    if not isinstance(office, str) or not office.strip() or set(sender) - set(SENDER_KEYS):
        raise ConfigError(source, "sender", "应为 [sender] 节，可含 office = \"发文单位名称\"、to = \"主送机关\"、"
                                            "cc = \"抄送机关\"、number = \"发文字号\"")
    if any(not isinstance(sender.get(k, ""), str) for k in SENDER_KEYS):
        raise ConfigError(source, "sender", "office、to、cc、number 应为文字")
    channels = data.get("channels", {})
    if not isinstance(channels, dict) or any(not isinstance(v, str) or "://" not in v
                                             for v in channels.values()):
        raise ConfigError(source, "channels", "应为“名称 = 通知地址”的表，如 办公室群 = \"wecombot://${WECOM_KEY}\"")
    people = data.get("person", [])
    if not isinstance(people, list):
        raise ConfigError(source, "person", "应为 [[person]] 列表")
    contacts = [_contact(source, n, raw) for n, raw in enumerate(people)]
    admin = _contact(source, -1, data["admin"]) if "admin" in data else None
    for n, contact in enumerate([*contacts, *([admin] if admin else [])]):
        for entry in contact.notify:
            if "://" not in entry and entry not in channels:
                key = "admin.notify" if contact is admin else f"person[{n}].notify"
                raise ConfigError(source, key, f"“{entry}”既不是通知地址，也不是 [channels] 中定义的名称")
    _remember_secrets([*channels.values(), *(u for c in [*contacts, *([admin] if admin else [])] for u in c.notify)])
    addressed = {k: str(sender[k]).strip() for k in ("to", "cc", "number") if str(sender.get(k, "")).strip()}
    return Directory(contacts=contacts, admin=admin, channels=dict(channels), office=office.strip(),
                     addressed=addressed)


def _remember_secrets(urls: list[str]) -> None:
    """The values the file's ${VAR}s stand for, masked in every log from now on (the URLs
    themselves are expanded only when a message is sent)."""
    for url in urls:
        for name in masking.ENV_VAR.findall(url):
            masking.remember(os.environ.get(name))


def load_directory(config_dir: Path | None) -> Directory:
    """config_dir/contacts.toml, or an empty directory when there is none."""
    path = optional(config_dir, "contacts.toml")
    if path is None:
        return Directory()
    data = read_toml(path)
    return parse_contacts(data, str(path))
