"""Delivery channels over Apprise: secrets, formats, limits, failure classes.

Contact URLs may reference secrets as ${ENV_VAR}; they are expanded only here, at send
time, and every expanded value (and any credential written in a URL) is redacted from
what this module returns: errors, display names. Nothing here touches the database.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import re
import ssl
import threading
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlsplit

from rectify_core import masking
from rectify_core.errors import ConfigError
from rectify_core.masking import ENV_VAR, MASK, Redactor

_STATUS = re.compile(r"(?:error|status|code)[=: ]+(\d{3})", re.IGNORECASE)

@dataclass(frozen=True)
class ChannelKind:
    name: str           # shown to people: 邮件, 企业微信 ...
    fmt: str            # apprise body format: html | markdown | text
    max_bytes: int      # one message's body limit, in UTF-8 bytes (0: none)
    card: bool = False  # one card per person (the most urgent first, then 另有N项 and the link), never split


KINDS = {
    "mailto": ChannelKind("邮件", "html", 0),
    "mailtos": ChannelKind("邮件", "html", 0),
    "wecombot": ChannelKind("企业微信", "text", 2048),
    "dingtalk": ChannelKind("钉钉", "markdown", 18000),
    "feishu": ChannelKind("飞书", "text", 18000),
    "lark": ChannelKind("飞书", "text", 18000),
    "wecomapp": ChannelKind("企业微信应用", "text", 512, card=True),
    "dingwork": ChannelKind("钉钉工作通知", "markdown", 5000, card=True),
    "json": ChannelKind("Webhook", "markdown", 0),
    "jsons": ChannelKind("Webhook", "markdown", 0),
}
DEFAULT_KIND = ChannelKind("其他", "text", 0)


def kind_of(url: str) -> ChannelKind:
    return KINDS.get(url.split("://", 1)[0].lower(), DEFAULT_KIND)



def expand(url: str, redactor: Redactor, environ: dict[str, str] | None = None) -> str:
    """${VAR} -> its value from the environment; the values become secrets to redact.
    A value inside a URL is percent-encoded (a password with @ or / stays one password);
    a variable that is the whole URL is taken as it is."""
    env = os.environ if environ is None else environ

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise ConfigError("contacts.toml", f"${{{name}}}", f"环境变量 {name} 未设置")
        redactor.add_secret(env[name])
        masking.remember(env[name])
        return env[name] if m.start() == 0 and m.end() == len(url) else quote(env[name], safe="")

    expanded = ENV_VAR.sub(value, url)
    redactor.add_url(expanded)
    masking.remember_url(expanded)
    return expanded


def display(url: str) -> str:
    """A URL safe to print: its scheme and, for mail and webhooks, the host only."""
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "mailtos", "json", "jsons"):
        return f"{parts.scheme}://{parts.hostname or ''}"
    return f"{parts.scheme}://{MASK}"


class _LazyTLSContext(ssl.SSLContext):
    """ssl.create_default_context() without its cost until TLS is used: the system's CA
    certificates (17 ms to load) are loaded when a connection is first secured, and
    only if certificates are to be verified. Same settings, same checks."""

    _loaded = False

    def _ready(self) -> None:
        if not self._loaded and self.verify_mode != ssl.CERT_NONE:
            self.load_default_certs()
            self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        self._ready()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
        self._ready()
        return super().wrap_bio(*args, **kwargs)


class _SSLForApprise:
    """The `ssl` module as Apprise's SMTP controller sees it: it builds a default TLS
    context for every connection, plain ones included, which made each mail cost 20 ms
    (bench/delivery_bench.py); this one is lazy. Everything else is the real module."""

    @staticmethod
    def create_default_context(purpose: Any = ssl.Purpose.SERVER_AUTH, **kwargs: Any) -> ssl.SSLContext:
        if purpose != ssl.Purpose.SERVER_AUTH or kwargs:
            return ssl.create_default_context(purpose, **kwargs)
        context = _LazyTLSContext(ssl.PROTOCOL_TLS_CLIENT)  # what create_default_context sets up
        context.check_hostname, context.verify_mode = True, ssl.CERT_REQUIRED
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)


_ASSET: Any = None


def _asset(apprise: Any) -> Any:
    """One Apprise asset for every send: sequential dispatch (each message has one URL, so
    Apprise's per-message thread pool only cost a thread start), run in the caller's
    thread. With a service timeout Apprise hands each send to a thread of its own and
    may stop waiting while that thread still sends: a message reported failed could then
    arrive and be retried. Without one, a send is bounded by the plugin's socket
    timeouts, and its outcome is the one that happened."""
    global _ASSET
    if _ASSET is None:
        _ASSET = apprise.AppriseAsset(async_mode=False, service_timeout=0)
    return _ASSET


_CLIENTS = threading.local()


def _client(apprise: Any) -> Any:
    """This thread's Apprise object, emptied for a new message (making one loads its
    translations: a fifth of a loopback send's own work)."""
    client = getattr(_CLIENTS, "client", None)
    if client is None:
        client = _CLIENTS.client = apprise.Apprise(asset=_asset(apprise))
    client.clear()
    return client


def _load_apprise() -> Any:
    import apprise  # loaded by the first send, not by every command that imports delivery
    import apprise.plugins.email.smtp as smtp

    from rectify_core.delivery import apps  # noqa: F401 - registers wecomapp:// and dingwork://

    if getattr(smtp, "ssl", None) is ssl:
        setattr(smtp, "ssl", _SSLForApprise())  # noqa: B010 - replacing a module attribute
    return apprise


@functools.lru_cache(maxsize=1024)
def _pickled(url: str) -> bytes | None:
    """An Apprise URL parsed once per process (parsing cost twice the send's own work on a
    loopback webhook), kept pickled: each send builds a fresh plugin from a fresh copy (a
    plugin keeps state, its throttle clock, that must not carry from one person's message
    to the next), and unpickling plain values costs a fifth of a deep copy."""
    from apprise import plugins

    parsed = plugins.url_to_dict(url, secure_logging=True)  # type: ignore[no-untyped-call]
    return None if parsed is None else pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)


def _parsed(url: str) -> dict[str, Any] | None:
    """A fresh copy of the parsed URL, for one plugin."""
    pickled = _pickled(url)
    return None if pickled is None else cast(dict[str, Any], pickle.loads(pickled))  # bytes this process made


@dataclass(frozen=True)
class SendResult:
    ok: bool
    permanent: bool = False
    error: str = ""
    outcomes: tuple[Any, ...] = ()  # work platforms: what each send learned (apps.Outcome)

    @property
    def ref(self) -> str | None:
        """The platform's id of the message (a DingTalk task_id, a WeCom msgid), if any."""
        return next((o.ref for o in self.outcomes if o.ref), None)


def send(url_template: str, title: str, body: str, environ: dict[str, str] | None = None) -> SendResult:
    """Send one message. Errors come back redacted; 4xx and bad URLs are permanent."""
    masking.install()  # Apprise logs URLs, keys and passwords at DEBUG as it parses and sends
    redactor = Redactor()
    try:
        url = expand(url_template, redactor, environ)
    except ConfigError as exc:
        return SendResult(False, True, str(exc))
    apprise = _load_apprise()
    from rectify_core.delivery import apps, pooling  # loaded with Apprise, by the first send

    asset = _asset(apprise)
    client = _client(apprise)
    parsed = _parsed(url)
    plugin = apprise.Apprise.instantiate(parsed, asset=asset) if parsed is not None else None
    if plugin is None or not client.add(plugin):
        return SendResult(False, True, f"无效的通知地址：{display(url)}")
    pooling.pool(type(plugin).__module__)  # its messages go through this thread's connection pool
    fmt = {"html": apprise.NotifyFormat.HTML, "markdown": apprise.NotifyFormat.MARKDOWN}.get(
        kind_of(url).fmt, apprise.NotifyFormat.TEXT)
    capture: Any = apprise.LogCapture
    apps.reset()
    with capture(level=logging.WARNING) as captured:
        ok = bool(client.notify(title=title, body=body, body_format=fmt))
    if outcomes := tuple(apps.outcomes()):  # a work platform says exactly what happened
        failed = [o for o in outcomes if not o.ok]
        return SendResult(ok and not failed, any(o.permanent for o in failed),
                          redactor("；".join(o.error for o in failed)), outcomes)
    if ok:
        return SendResult(True)
    log = redactor(captured.getvalue().strip()) or "发送失败（无详细信息）"
    status = [int(s) for s in _STATUS.findall(log)]
    permanent = any(400 <= s < 500 and s not in (408, 429) for s in status)
    return SendResult(False, permanent, log[-1000:])
