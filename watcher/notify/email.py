"""The email channel: one multipart (text + HTML) mail per message, over SMTP.

Sending uses the standard library's smtplib in a worker thread (`asyncio.to_thread`)
rather than aiosmtplib: no extra dependency, one message at a time is all a channel
sends, and smtplib exposes every reply code, which is what decides retry (4xx, network)
versus dead (5xx).

Headers are built with `email.message.EmailMessage` and the default policy, from text
that `render.one_line` has stripped of CR/LF and other controls, so nothing from a feed
can add a header. `Message-ID` is derived from the alert id, so a retried alert keeps its
id, and an update carries `In-Reply-To`/`References` to its item's first alert.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from io import BytesIO

from watcher.config.models import EmailChannel as EmailSettings
from watcher.config.models import SmtpSettings
from watcher.errors import DeliveryError, PermanentDeliveryError
from watcher.notify import render
from watcher.notify.base import Channel, Message, Receipt

log = logging.getLogger(__name__)

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_DOMAIN_SAFE = re.compile(r"^[A-Za-z0-9.-]{1,253}$")


def _domain(address: str) -> str:
    domain = parseaddr(address)[1].rpartition("@")[2]
    return domain if _DOMAIN_SAFE.match(domain) else "watcher.invalid"


def message_id(ident: str, domain: str) -> str | None:
    """`<alert-id@domain>`; None for an id that could not be a Message-ID."""
    return f"<{ident}@{domain}>" if _ID_SAFE.match(ident) else None


def build_email(message: Message, settings: EmailSettings, now: float) -> EmailMessage:
    """The mail for one message: text and HTML alternatives, threading headers."""
    mail = EmailMessage()
    mail["Subject"] = render.email_subject(message, settings.subject_prefix)
    mail["From"] = settings.from_
    mail["To"] = ", ".join(settings.to)
    mail["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
    domain = _domain(settings.from_)
    own_id = message_id(message.id, domain)
    if own_id:
        mail["Message-ID"] = own_id
    if not message.digest:
        thread = message.alerts[0].get("thread")
        parent = message_id(thread, domain) if isinstance(thread, str) else None
        if parent and thread != message.id:
            mail["In-Reply-To"] = parent
            mail["References"] = parent
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    mail["X-Watcher-Alert"] = render.one_line(", ".join(message.alert_ids or (message.id,)), 900)
    mail.set_content(render.text_body(message))
    mail.add_alternative(render.html_body(message), subtype="html")
    return mail


def _flatten(mail: EmailMessage) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, policy=mail.policy).flatten(mail, linesep="\r\n")
    return buffer.getvalue()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return render.one_line(f"{code} {text}", 300)


class EmailChannel(Channel):
    def __init__(
        self, name: str, settings: EmailSettings, *, clock: Callable[[], float] = time.time
    ):
        super().__init__(name)
        self.settings = settings
        self.clock = clock
        smtp = settings.smtp
        self.where = f"{smtp.host}:{smtp.effective_port}"
        self._tls_context: ssl.SSLContext | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Built once per channel: loading the system's CA store takes tens of milliseconds."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context(cafile=self.settings.smtp.tls_ca_file)
        return self._tls_context

    async def send(self, message: Message) -> Receipt:
        mail = build_email(message, self.settings, self.clock())
        return await asyncio.to_thread(self._send_sync, mail)

    # --- the blocking part, run in a thread -----------------------------------------------

    def _send_sync(self, mail: EmailMessage) -> Receipt:
        try:
            smtp = self._connect(self.settings.smtp)
        except Exception as exc:
            raise self._failure(exc) from None
        try:
            return self._transmit(smtp, mail)
        except DeliveryError:
            raise
        except Exception as exc:
            raise self._failure(exc) from None
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()  # the message is already accepted or refused: nothing to add

    def _connect(self, settings: SmtpSettings) -> smtplib.SMTP:
        host, port, timeout = settings.host, settings.effective_port, settings.timeout
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self.tls_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            smtp.ehlo()
            if settings.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentDeliveryError(
                        self.name,
                        f"{self.where} does not offer STARTTLS; refusing to send in clear text "
                        "(set `security: tls` for port 465, or `none` for a trusted relay)",
                    )
                smtp.starttls(context=self.tls_context())
                smtp.ehlo()
            if settings.username is not None:
                password = settings.password.get_secret_value() if settings.password else ""
                smtp.login(settings.username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _transmit(self, smtp: smtplib.SMTP, mail: EmailMessage) -> Receipt:
        """MAIL, RCPT, DATA by hand, to report the server's final answer (a queue id)."""
        sender = parseaddr(self.settings.from_)[1]
        recipients = [address for _name, address in getaddresses(self.settings.to)]
        data = _flatten(mail)
        options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
        code, text = smtp.mail(sender, options)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, text, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, text)
        if len(refused) == len(recipients):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, text = smtp.data(data)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPDataError(code, text)
        if refused:
            log.warning(
                "channel %s: %s refused some recipients: %s",
                self.name,
                self.where,
                "; ".join(f"{r}: {_reply(c, t)}" for r, (c, t) in refused.items()),
            )
        return Receipt(f"{self.where} answered {_reply(code, text)}")

    def _failure(self, exc: BaseException) -> DeliveryError:
        """Map what smtplib raised to retry (4xx, network) or dead (5xx, unsupported)."""
        if isinstance(exc, DeliveryError):
            return exc
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            answers = {r: _reply(c, t) for r, (c, t) in exc.recipients.items()}
            reason = f"{self.where} refused every recipient: " + "; ".join(
                f"{r}: {a}" for r, a in answers.items()
            )
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
        elif isinstance(exc, smtplib.SMTPResponseException):
            reason = f"{self.where} answered {_reply(exc.smtp_code, exc.smtp_error)}"
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                reason = f"login refused by {self.where}: {_reply(exc.smtp_code, exc.smtp_error)}"
            permanent = exc.smtp_code >= 500
        elif isinstance(exc, smtplib.SMTPNotSupportedError):
            reason, permanent = f"{self.where}: {exc}", True
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            reason, permanent = f"{self.where} closed the connection: {exc}", False
        elif isinstance(exc, smtplib.SMTPException):
            reason, permanent = f"{self.where}: {exc}", True  # e.g. no common AUTH method
        elif isinstance(exc, ssl.SSLError):
            reason, permanent = f"TLS with {self.where} failed: {exc}", False
        elif isinstance(exc, TimeoutError):
            reason = f"{self.where} did not answer within {self.settings.smtp.timeout:g}s"
            permanent = False
        elif isinstance(exc, OSError):
            reason, permanent = f"cannot reach {self.where}: {exc}", False
        else:
            reason, permanent = f"{self.where}: {type(exc).__name__}: {exc}", False
        error = PermanentDeliveryError if permanent else DeliveryError
        return error(self.name, reason)
