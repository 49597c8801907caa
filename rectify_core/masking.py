"""Secrets never shown: every secret rectify is given (a resolved ${ENV} value, its
URL-encoded form and the pieces a URL parser could cut it into, credentials and tokens
inside a URL, the web's secrets, a database password) is masked wherever text leaves the
process: in errors, in outbox rows and events, and in every log record of every logger
(rectify, Apprise, Prefect, uvicorn), whatever level the host set.

A `Redactor` masks what it was shown. The process keeps one (`remember`, `remember_url`)
and, once `install`ed, masks every log record as it is made, before any handler or
filter of the host's sees it: a filter on a logger misses its children's records, and a
host's handlers are not ours to know."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

# a secret's place in a config file: ${ENV_VAR}, its value read from the environment
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DELIMITERS = re.compile(r"[@:/?#&=%;,\s]+")


MASK = "***"


@dataclass
class Redactor:
    """Masks every secret it has been shown."""

    secrets: set[str] = field(default_factory=set)

    def add_secret(self, secret: str) -> None:
        """A secret, its URL-encoded form, and each fragment a URL parser could split it
        into (a password with @ or : is cut there), so no piece of it shows."""
        self.secrets.update({secret, quote(secret, safe="")})
        self.secrets.update(f for f in _DELIMITERS.split(secret) if len(f) >= 4)

    def add_url(self, url: str) -> None:
        """Credentials and tokens inside a URL: userinfo, path segments, query values."""
        parts = urlsplit(url)
        if parts.password:
            self.secrets.add(unquote(parts.password))
        if "@" in parts.netloc and parts.scheme not in ("mailto", "mailtos"):
            self.secrets.add(unquote(parts.netloc.split("@", 1)[0]))
        host = parts.hostname or ""
        if parts.scheme not in ("mailto", "mailtos", "json", "jsons"):
            self.secrets.add(host)  # token-as-host schemes: wecombot://KEY
        for segment in parts.path.split("/"):
            if len(segment) >= 8:
                self.secrets.add(unquote(segment))
        for key, value in parse_qsl(parts.query):
            # addresses, not secrets: mail fields, and the work platforms' ?api= base URL
            if len(value) >= 8 and key.lower() not in ("to", "from", "cc", "bcc", "name", "smtp", "api"):
                self.secrets.add(value)

    def __call__(self, text: str) -> str:
        for secret in sorted((s for s in self.secrets if len(s) >= 4), key=len, reverse=True):
            text = text.replace(secret, MASK)
        for secret in self.secrets:
            if len(secret) >= PIECE:
                text = _mask_pieces(text, secret)
        return text


PIECE = 6  # any run of this many characters of a secret is masked, wherever it was cut


def _mask_pieces(text: str, secret: str) -> str:
    """Mask every run of at least PIECE characters that also occurs in `secret` (a
    parser may cut a secret at @ or :, and print the pieces)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        best = 0
        for j in range(len(secret)):
            k = 0
            while i + k < len(text) and j + k < len(secret) and text[i + k] == secret[j + k]:
                k += 1
            best = max(best, k)
        if best >= PIECE:
            out.append(MASK)
            i += best
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


_PROCESS = Redactor()  # every secret this process was given
_installed = False


def remember(secret: str | None) -> None:
    """A secret to mask in every log record from now on."""
    if secret and len(secret) >= 4:
        _PROCESS.add_secret(secret)


def remember_url(url: str) -> None:
    """The credentials and tokens inside a URL, likewise."""
    _PROCESS.add_url(url)


def install() -> None:
    """Mask every log record of every logger as it is made (once per process)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if _PROCESS.secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a record whose arguments do not fit its format
                message = str(record.msg)
            shown = _PROCESS(message)
            if shown != message or record.args:
                record.msg, record.args = shown, None
        return record

    logging.setLogRecordFactory(masked)
    _installed = True
