"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from testkit.support import eventually, free_port

LINK = re.compile(r"https?://\S+")


class Mailbox:
    def __init__(self) -> None:
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 OK"

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self._messages if to is None or m["To"].lower() == to.lower()]

    def wait_for(
        self, to: str, subject_contains: str, *, count: int = 1, timeout: float = 10
    ) -> EmailMessage:
        """The `count`-th message (1 = the first) to `to` whose subject contains the text,
        waiting up to `timeout` seconds for it to arrive."""

        def arrived() -> EmailMessage | None:
            found = [m for m in self.messages(to) if subject_contains in m["Subject"]]
            return found[count - 1] if len(found) >= count else None

        what = f"mail #{count} to {to} about {subject_contains!r}"
        return eventually(arrived, seconds=timeout, what=what)

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        content: str = body.get_content()
        return content

    def link(self, message: EmailMessage) -> str:
        """The first http(s) link in the message's text."""
        match = LINK.search(self.text(message))
        assert match, self.text(message)
        return match.group(0)

    def token(self, message: EmailMessage) -> str:
        """The token in the message's link (after `#verify=` or `#reset=`)."""
        return self.link(message).rsplit("=", 1)[1]


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
