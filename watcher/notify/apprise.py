"""The apprise channel: `urls:` in Apprise notation, through the same outbox and retries.

Optional: needs the `apprise` package (`pip install watcher[apprise]`); without it the
alert fails permanently with that instruction, so it is visible in `watcher alerts`.

Apprise reports only success or failure per service, so any failure is retried (and ends
`dead` after `max_attempts`); a URL Apprise cannot read is permanent. Each URL is its own
service: on a retry the services that had already accepted get the message again (same
alert id in the text), so put services that must never repeat in separate channels.
Apprise URLs carry credentials: errors name a service by Apprise's privacy-masked URL.
"""

from __future__ import annotations

import logging
from typing import Any

from watcher.errors import DeliveryError, PermanentDeliveryError
from watcher.notify import render
from watcher.notify.base import Channel, Message, Receipt

log = logging.getLogger(__name__)


def _load_apprise(channel: str) -> Any:
    try:
        import apprise
    except ImportError:
        raise PermanentDeliveryError(
            channel, "the apprise package is not installed: pip install 'watcher[apprise]'"
        ) from None
    return apprise


class AppriseChannel(Channel):
    def __init__(self, name: str, settings: Any):
        super().__init__(name)
        self.settings = settings

    def _services(self) -> list[tuple[str, Any]]:
        """(masked URL, Apprise object) per configured URL; unreadable URLs are permanent."""
        apprise = _load_apprise(self.name)
        services = []
        for position, secret in enumerate(self.settings.urls, start=1):
            plugin = apprise.Apprise.instantiate(secret.get_secret_value())
            if not plugin:
                raise PermanentDeliveryError(
                    self.name, f"urls[{position}] is not a URL Apprise can use (see its wiki)"
                )
            masked = plugin.url(privacy=True)
            notifier = apprise.Apprise()
            notifier.add(plugin)
            services.append((masked, notifier))
        return services

    async def send(self, message: Message) -> Receipt:
        apprise = _load_apprise(self.name)
        title = render.email_subject(message, "")
        body = render.text_body(message)
        failed, done = [], []
        for masked, notifier in self._services():
            result = await notifier.async_notify(
                body=body, title=title, body_format=apprise.NotifyFormat.TEXT
            )
            (done if bool(result) else failed).append(masked)
        if failed:
            raise DeliveryError(
                self.name,
                f"apprise could not notify {', '.join(failed)}"
                + (f" (sent to {', '.join(done)})" if done else ""),
            )
        return Receipt(f"apprise notified {', '.join(done)}")
