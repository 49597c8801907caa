"""The people directory in and out of contacts.toml: `rectify people import` brings a
file's [[person]] entries into the database, `rectify people export` writes the kept
people back in the same form. Channels travel by name: a URL written for one person in the
file is brought in only when it is one of the configured channels addressed to them (a
[channels] URL with {email} or {mobile}, filled in); any other URL stays with the file,
and so does its person, so nobody loses the way they were reached."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.orm import Session

from rectify_core.config.files import read_toml
from rectify_core.config.people import ANY_UNIT, Contact, Directory, parse_contacts
from rectify_core.errors import InputError, NotFoundError, Problem, RectifyError
from rectify_core.ledger import people, units
from rectify_core.ledger.models import DirectoryPerson, Unit


@dataclass
class Brought:
    """What an import of contacts.toml did, person by person."""

    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already in the database: left as the units keep them
    left: list[str] = field(default_factory=list)  # left in the file, with why


def _templates(directory: Directory) -> list[tuple[str, re.Pattern[str], str]]:
    """(channel name, the URL's pattern, the field it fills) for channels addressed per person."""
    out = []
    for name, url in directory.channels.items():
        for wanted in ("email", "mobile"):
            if "{" + wanted + "}" in url:
                pattern = re.escape(url).replace(re.escape("{" + wanted + "}"), f"(?P<{wanted}>[^&/?#]+)")
                out.append((name, re.compile(pattern), wanted))
    return out


def translated(contact: Contact, directory: Directory) -> Contact | str:
    """The contact with its channels as configured names (and the email or mobile a URL
    carried), or why it cannot be."""
    names: list[str] = []
    found: dict[str, str] = {}
    by_url = {url: name for name, url in directory.channels.items()}
    templates = _templates(directory)
    for entry in contact.notify:
        if entry in directory.channels:
            names.append(entry)
            continue
        if entry in by_url:
            names.append(by_url[entry])
            continue
        hit = next(((n, m, w) for n, p, w in templates if (m := p.fullmatch(entry))), None)
        if hit is None:
            return f"通知地址 {people.shown_channel(entry)} 不是已配置的渠道"
        names.append(hit[0])
        found[hit[2]] = unquote(hit[1].group(hit[2]))
    return replace(contact, notify=tuple(names), email=contact.email or found.get("email"),
                   mobile=contact.mobile or found.get("mobile"))


def bring_in(path: Path, directory: Directory, actor: str, now: dt.datetime, *, session: Session) -> Brought:
    """contacts.toml's people into the database, all or nothing: a person whose entry is
    wrong refuses the file (every problem named); people already kept are left as they are."""
    data = read_toml(path)
    own = data.get("channels")
    data["channels"] = {**directory.channels, **(own if isinstance(own, dict) else {})}  # names: the configured ones
    parsed = parse_contacts(data, str(path))
    done, problems = Brought(), list[Problem]()
    for contact in parsed.contacts:
        who = contact.name if contact.unit == ANY_UNIT else f"{contact.name}（{contact.unit}）"
        try:
            unit = None if contact.unit == ANY_UNIT else units.find_unit(contact.unit, session=session)
        except NotFoundError:
            done.left.append(f"{who}：单位“{contact.unit}”尚未添加")
            continue
        made = translated(contact, directory)
        if isinstance(made, str):
            done.left.append(f"{who}：{made}，未导入（请在 [channels] 中定义该渠道后再导入）")
            continue
        try:
            people.find_named(contact.name, unit, session=session)
            done.kept.append(who)
            continue
        except NotFoundError:
            pass
        try:
            row = people.add(people.form_of(made), unit, directory, actor, now, session=session)
        except RectifyError as exc:
            problems.append(Problem(who, str(exc)))
            continue
        directory.contacts.append(people.contact_of(row, unit.name if unit else ANY_UNIT))
        done.added.append(who)
    if problems:
        raise InputError(str(path), problems)
    return done


def _toml(value: str | list[str]) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string or list of strings is TOML too


def export_text(rows: list[tuple[DirectoryPerson, str]]) -> str:
    """The kept people as contacts.toml's [[person]] entries, channels by name."""
    lines = ["# 人员名录（rectify people export）。通知渠道按名称引用 contacts.toml 的 [channels]，",
             "# 渠道地址与密钥仍由管理员保管，不在此文件中。"]
    for row, unit in rows:
        contact = people.contact_of(row, unit)
        lines += ["", "[[person]]", f"name = {_toml(contact.name)}", f"unit = {_toml(contact.unit)}"]
        for key in ("department", "title", "email", "mobile", "supervisor", *people.USER_IDS):
            if value := getattr(contact, key):
                lines.append(f"{key} = {_toml(value)}")
        if contact.roles:
            lines.append(f"roles = {_toml(list(contact.roles))}")
        lines.append(f"notify = {_toml(list(contact.notify))}")
    return "\n".join(lines) + "\n"


def unit_named(name: str, *, session: Session) -> Unit | None:
    """The unit a command names, or None for every unit ("*" or "全部单位")."""
    return None if name.strip() in (ANY_UNIT, "全部单位", "") else units.find_unit(name, session=session)
