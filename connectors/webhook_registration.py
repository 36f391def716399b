"""What registering (or removing) webhooks on a platform did: the result every connector's
`register_webhooks` / `unregister_webhooks` returns.

Shopify, WooCommerce and Stripe register through their APIs; QuickBooks and Xero only in
the app's developer portal, so their result says so (`manual=True`) and carries the URL to
enter there, instead of raising.

`secret` is the signing key the receiver must verify with, when the platform issues one
(Stripe's `whsec_...`, on creation only) or accepts one from us (WooCommerce: a strong
random secret we generate); None means "keep the one you have" (a reused Stripe endpoint)
or that the key lives elsewhere (Shopify signs with the app's client secret). It is never
part of `repr` or `to_dict`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WebhookSubscriptionRef:
    """One platform-side subscription: its platform id and the topic it delivers."""

    id: str
    topic: str


@dataclass(frozen=True)
class WebhookRegistration:
    """Subscriptions that now deliver to `callback_url` (or, after unregistering, that were
    removed), and how they were reached."""

    platform: str
    callback_url: str
    subscriptions: tuple[WebhookSubscriptionRef, ...] = ()
    secret: str | None = field(default=None, repr=False)
    created: tuple[str, ...] = ()  # ids created by this call
    reused: tuple[str, ...] = ()  # ids that already delivered here (kept, maybe updated)
    removed: tuple[str, ...] = ()  # ids deleted (unregistering, or duplicates of ours)
    manual: bool = False  # registration happens in the developer portal
    instructions: str | None = None

    @property
    def ids(self) -> list[str]:
        """Platform ids of the subscriptions delivering to `callback_url`."""
        return [s.id for s in self.subscriptions]

    @property
    def topics(self) -> list[str]:
        return [s.topic for s in self.subscriptions]

    def to_dict(self) -> dict[str, Any]:
        """JSON view without the secret (it says whether one was issued)."""
        return {
            "platform": self.platform,
            "callbackUrl": self.callback_url,
            "subscriptions": [{"id": s.id, "topic": s.topic} for s in self.subscriptions],
            "created": list(self.created),
            "reused": list(self.reused),
            "removed": list(self.removed),
            "secretIssued": self.secret is not None,
            "manual": self.manual,
            "instructions": self.instructions,
        }


def portal_registration(
    platform: str, callback_url: str, *, portal: str, secret_name: str, removing: bool = False
) -> WebhookRegistration:
    """The result for a platform whose webhooks are set in its developer portal."""
    if removing:
        text = (f"{platform} webhooks are configured in the {portal}: remove the endpoint "
                f"URL {callback_url} there.")  # fmt: skip
    else:
        text = (f"{platform} webhooks are configured in the {portal}: enter the endpoint URL "
                f"{callback_url} there and store the {secret_name} it shows in the "
                f"integration's credentials.")  # fmt: skip
    return WebhookRegistration(platform=platform, callback_url=callback_url, manual=True,
                               instructions=text)  # fmt: skip


def new_webhook_secret() -> str:
    """A strong random secret for platforms that accept ours (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)
