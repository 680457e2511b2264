"""Outgoing mail: SMTP when configured, the log otherwise (development).

Handlers collect messages in a `MailOutbox` and send them after the response, once the
database transaction that made them (say, a verification token) has committed.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from backend.settings import Settings

logger = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


@dataclass(slots=True)
class MailOutbox:
    """Messages a request wants sent if, and only if, it succeeds."""

    messages: list[Mail] = field(default_factory=list)

    def add(self, mail: Mail) -> None:
        self.messages.append(mail)


class LogMailer:
    """Development without SMTP settings: the message, links included, goes to the log."""

    async def send(self, mail: Mail) -> None:
        logger.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.text)


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise ValueError("SmtpMailer needs settings.smtp_host")
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._security = settings.smtp_security
        self._username = settings.smtp_username
        self._password = settings.smtp_password
        self._sender = settings.mail_from

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._security == "tls":
            smtp = smtplib.SMTP_SSL(
                self._host, self._port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            if self._security == "starttls":
                smtp.starttls(context=context)
            if self._username and self._password:
                smtp.login(self._username, self._password)
            smtp.send_message(message)


def mailer_from_settings(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()


async def deliver(mailer: Mailer, messages: list[Mail]) -> None:
    """Send each message; a failure is logged (the user can ask again), never raised."""
    for mail in messages:
        try:
            await mailer.send(mail)
        except (OSError, smtplib.SMTPException) as exc:
            logger.error("could not send %r to %s: %s", mail.subject, mail.to, exc)
