"""A local mail sink: a real SMTP server on loopback that keeps every message it
receives as an .eml file. For the demo, for trying rectify, and for tests."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class _Handler:
    directory: Path
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.content
        with self.lock:
            n = len(self.messages) + 1
            message = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
            stamp = dt.datetime.now().strftime("%Y%m%d")
            to = re.sub(r"[^\w.@-]+", "_", ",".join(envelope.rcpt_tos))[:80]
            (self.directory / f"{stamp}-{to}-{n:04d}.eml").write_bytes(data)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailSink:
    """`with MailSink(dir) as sink:` — SMTP on 127.0.0.1:sink.port; messages in dir."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = port or free_port()
        self._handler = _Handler(directory)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._handler.lock:
            return list(self._handler.messages)

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=rectify@localhost&to={to}"

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
