"""A real SMTP server (aiosmtpd) on 127.0.0.1, for tests of the email channel.

    with SmtpServer() as smtp:                          # plain SMTP
    with SmtpServer(tls=ca_context, login=("u", "p")):  # STARTTLS required, AUTH over TLS
    with SmtpServer(implicit_tls=ca_context):           # TLS from the first byte (port 465)
    smtp.reply_next("451 4.3.0 Try again later")        # the next DATA gets this answer
    smtp.messages[-1].message["Subject"]                # parsed with the default policy

Replies queued with `reply_next` answer DATA in order; once they are used up, messages
are accepted ("250 OK queued as N") and recorded.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.feed_server import unused_port


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool  # STARTTLS done, or a server that only speaks TLS
    login: str | None  # who authenticated, if anyone

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        return self.server._data(session, envelope)


class SmtpServer:
    """aiosmtpd in its own thread; `port` is chosen free at start."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ):
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._login = login
        self._lock = threading.Lock()
        self._replies: deque[str] = deque()
        self.messages: list[ReceivedMail] = []
        self.data_commands = 0  # DATA attempts, accepted or not
        self.auth_attempts: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._controller: Controller | None = None

    def reply_next(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies (e.g. '550 5.7.1 No')."""
        with self._lock:
            self._replies.extend(replies)

    def _authenticate(
        self, smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self._login is None:
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        with self._lock:
            self.auth_attempts.append(user)
        ok = (user, password) == self._login
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    def _data(self, session: Any, envelope: Any) -> str:
        with self._lock:
            self.data_commands += 1
            if self._replies:
                return self._replies.popleft()
            login = session.auth_data if isinstance(session.auth_data, str) else None
            self.messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or envelope.content),
                    tls=session.ssl is not None or self._implicit_tls is not None,
                    login=login,
                )
            )
            return f"250 OK queued as {len(self.messages)}"

    def start(self) -> Self:
        kwargs: dict[str, Any] = {}
        if self._tls is not None:
            kwargs.update(tls_context=self._tls, require_starttls=True)
        if self._login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        if self._implicit_tls is not None:
            # aiosmtpd only knows about STARTTLS; the whole connection is TLS here
            kwargs.update(ssl_context=self._implicit_tls, auth_required=False)
            kwargs.update(auth_require_tls=False)
        self.port = unused_port()
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
