"""Platform rate limits shared by every worker, as Prefect global concurrency limits.

Each process paces itself (connectors/ratelimit.py), but two workers syncing the same shop
would each pace at the shop's full rate and together exceed it. With the setting
BIGLEDGER_SHARED_RATE_LIMITS=true every request also takes its cost from a Prefect rate
limit (`rate_limit(..., strict=True)`) named per platform account, and per operation where
the platform meters per operation (Amazon):

    bigledger-rate:shopify:<shop domain>                 cost points
    bigledger-rate:amazon:<seller id>:<operation>        calls
    bigledger-rate:stripe|quickbooks|xero:<account>      calls

The limits are created up front by `ensure_rate_limits()` (CLI: `bigledger limits`); a
missing one is an error, never Prefect's silent no-op. An account's real plan when it is
not the published default goes in the integration's settings:
`{"rateLimits": {"rate": 1000, "burst": 20000}}` (one budget) or
`{"rateLimits": {"getOrderItems": {"rate": 5, "burst": 30}}}` (per operation).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from bigledger.errors import IntegrationError, ValidationFailed
from connectors.ratelimit import SharedLimit, SharedRateLimit

log = logging.getLogger(__name__)

SETTING = "BIGLEDGER_SHARED_RATE_LIMITS"
PREFIX = "bigledger-rate"
# The shared bucket runs a little under the platform's: the orchestrator meters when a slot
# is taken and the platform when the request lands, and the gap (tens of milliseconds) must
# not add up to a refusal at the edge of the platform's burst.
HEADROOM = 0.95
# Published budgets of the platforms with one budget per account: (calls or points per
# second, burst). Shopify: the standard plan's GraphQL cost bucket (Plus shops have ten times
# more: state it in settings.rateLimits). Stripe: live-mode requests per second. QuickBooks:
# 500 requests a minute per company. Xero: 60 calls a minute per organisation.
PUBLISHED: dict[str, tuple[float, float]] = {
    "shopify": (100.0, 2000.0),
    "stripe": (100.0, 100.0),
    "quickbooks": (500 / 60, 50.0),
    "xero": (1.0, 5.0),
}
STRIPE_TEST_RATE = 25.0
# Platforms that publish no limit (WooCommerce is the merchant's own server; PayPal states
# none) are paced by their own policies only.
_NAME_UNSAFE = re.compile(r"[/%&<>\s]+")


class SharedLimitMissing(IntegrationError):
    """A shared rate limit the worker needs was never created on the Prefect server."""

    http_status = 503


def shared_limits_enabled() -> bool:
    """True when BIGLEDGER_SHARED_RATE_LIMITS is on (off by default)."""
    from bigledger.settings import get_settings

    return get_settings().shared_rate_limits


def limit_name(platform: str, account: str, operation: str | None = None) -> str:
    """The Prefect limit name of one account's budget (characters Prefect bans replaced)."""
    parts = [PREFIX, platform, account.strip().lower(), *([operation] if operation else [])]
    return ":".join(_NAME_UNSAFE.sub("_", part) for part in parts)


def account_of(platform: str, credentials: Mapping[str, Any], settings: Mapping[str, Any],
               integration_id: str) -> str:  # fmt: skip
    """Whose budget the platform meters: the shop, seller, company or organisation (never a
    secret); the integration itself where the account is not known without a call."""
    key = {"shopify": credentials.get("shopDomain"), "amazon": credentials.get("sellerId"),
           "quickbooks": credentials.get("realmId"), "xero": settings.get("tenantId"),
           "stripe": settings.get("stripeAccount")}.get(platform)  # fmt: skip
    return str(key).strip() if isinstance(key, str) and key.strip() else integration_id


def _override(settings: Mapping[str, Any], operation: str | None) -> tuple[float, float] | None:
    limits = settings.get("rateLimits")
    if not isinstance(limits, Mapping):
        return None
    plan = limits.get(operation) if operation else limits
    if not isinstance(plan, Mapping) or "rate" not in plan or "burst" not in plan:
        return None
    try:
        rate, burst = float(plan["rate"]), float(plan["burst"])
    except (TypeError, ValueError):
        raise ValidationFailed(f"settings.rateLimits of {operation or 'the account'} needs "
                               "numeric rate and burst") from None  # fmt: skip
    if rate <= 0 or burst < 1:
        raise ValidationFailed("settings.rateLimits needs rate > 0 and burst >= 1")
    return rate, burst


def _shared(name: str, rate: float, burst: float) -> SharedLimit:
    return SharedLimit(name, rate * HEADROOM, max(1.0, burst * HEADROOM))


def limits_for(platform: str, credentials: Mapping[str, Any], settings: Mapping[str, Any],
               integration_id: str) -> dict[str | None, SharedLimit]:  # fmt: skip
    """An integration's shared limits: by operation (Amazon) or under None (one budget);
    empty for platforms that publish no limit."""
    account = account_of(platform, credentials, settings, integration_id)
    if platform == "amazon":
        from connectors.amazon import USAGE_PLANS

        out: dict[str | None, SharedLimit] = {}
        for operation, plan in USAGE_PLANS.items():
            rate, burst = _override(settings, operation) or plan
            out[operation] = _shared(limit_name(platform, account, operation), rate, burst)
        return out
    if platform not in PUBLISHED:
        return {}
    rate, burst = PUBLISHED[platform]
    if platform == "stripe":
        from connectors.stripe import key_mode

        secret = credentials.get("secretKey")
        if isinstance(secret, str) and key_mode(secret.strip()) == "test":
            rate = burst = STRIPE_TEST_RATE
    rate, burst = _override(settings, None) or (rate, burst)
    return {None: _shared(limit_name(platform, account), rate, burst)}


def integration_limits(integration: Any) -> dict[str | None, SharedLimit]:
    """`limits_for` an IntegrationRecord (credentials decrypted here, used, dropped)."""
    return limits_for(integration.platform, integration.credentials(), integration.settings,
                      integration.id)


# ---- acquiring from Prefect -----------------------------------------------------------------


class PrefectSlots:
    """Takes slots from Prefect rate limits; checks each limit once per process, so a missing
    or differently sized limit is a clear error instead of a silent no-op or a wrong pace."""

    def __init__(self, limits: Iterable[SharedLimit], *, timeout_seconds: float | None = None
                 ) -> None:  # fmt: skip
        self.limits = {limit.name: limit for limit in limits}
        self.timeout_seconds = timeout_seconds
        self._checked: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, name: str, slots: int) -> None:
        """Block until `slots` of limit `name` are taken (Prefect retries on its 423s)."""
        from prefect.concurrency.sync import rate_limit

        with self._lock:
            checked = name in self._checked
        if not checked:
            self._check(name)
        try:
            rate_limit(name, occupy=slots, timeout_seconds=self.timeout_seconds, strict=True)
        except TimeoutError:
            raise
        except Exception as exc:
            # strict=True turns Prefect's "limit does not exist" warning into this error.
            if "must be created" in str(exc):
                raise _missing(name) from exc
            raise

    def _check(self, name: str) -> None:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        expected = self.limits.get(name)
        with get_client(sync_client=True) as client:
            try:
                found = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                raise _missing(name) from None
        if expected is not None and (
            found.limit != expected.slots
            or abs(found.slot_decay_per_second - expected.slot_decay_per_second) > 1e-9
        ):
            raise SharedLimitMissing(
                f"shared rate limit {name!r} on the Prefect server ({found.limit} slots, "
                f"{found.slot_decay_per_second}/s) differs from this integration's "
                f"({expected.slots}, {expected.slot_decay_per_second}/s): run "
                "`bigledger limits` after changing settings.rateLimits",
                details={"limit": name})  # fmt: skip
        with self._lock:
            self._checked.add(name)


def _missing(name: str) -> SharedLimitMissing:
    return SharedLimitMissing(
        f"shared rate limit {name!r} does not exist on the Prefect server: create the limits "
        "with `bigledger limits` (tasks.limits.ensure_rate_limits) or unset " + SETTING,
        details={"limit": name})  # fmt: skip


def share_rate_limits(connector: Any, integration: Any, *, acquire: Any = None) -> Any:
    """Make the connector take every request's cost from its account's shared limits as well
    as pacing itself; returns the same connector (unchanged for platforms without one)."""
    limits = integration_limits(integration)
    if not limits:
        return connector
    acquire = acquire or PrefectSlots(limits.values())
    if None in limits:
        single = limits[None]

        def limit_for() -> SharedLimit | None:
            return single
    else:
        operations = connector.limits  # Amazon's OperationRateLimits

        def limit_for() -> SharedLimit | None:
            name = _current_operation(operations)
            return limits.get(name) if name is not None else None

    connector.http.policy = SharedRateLimit(connector.http.policy, acquire, limit_for)
    return connector


def _current_operation(operations: Any) -> str | None:
    return operations.current_operation()


# ---- creating the limits --------------------------------------------------------------------


def ensure_rate_limits(limits: Iterable[SharedLimit] | None = None) -> list[dict[str, Any]]:
    """Create or resize the Prefect limits (every integration's, when none are given);
    idempotent, and a resize keeps the slots in use. Returns what was done per limit."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )
    from prefect.exceptions import ObjectNotFound

    wanted = {limit.name: limit for limit in (
        limits if limits is not None else _all_integration_limits())}  # fmt: skip
    report: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        for name, limit in sorted(wanted.items()):
            try:
                found = client.read_global_concurrency_limit_by_name(name)
            except ObjectNotFound:
                found = None
            if found is None:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(
                    name=name, limit=limit.slots,
                    slot_decay_per_second=limit.slot_decay_per_second))  # fmt: skip
                action = "created"
            elif (found.limit != limit.slots
                  or abs(found.slot_decay_per_second - limit.slot_decay_per_second) > 1e-9
                  or not found.active):  # fmt: skip
                client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(
                    limit=limit.slots, slot_decay_per_second=limit.slot_decay_per_second,
                    active=True))  # fmt: skip
                action = "updated"
            else:
                action = "unchanged"
            report.append({"name": name, "action": action, "rate": limit.rate,
                           "burst": limit.burst, "slots": limit.slots,
                           "slotDecayPerSecond": limit.slot_decay_per_second})  # fmt: skip
    return report


def _all_integration_limits() -> list[SharedLimit]:
    from ledger.db import transaction
    from ledger.integrations import list_integrations
    from ledger.migrate import ensure_schema

    ensure_schema()
    with transaction() as conn:
        integrations = list_integrations(conn)
    out: list[SharedLimit] = []
    for integration in integrations:
        out.extend(integration_limits(integration).values())
    return out
