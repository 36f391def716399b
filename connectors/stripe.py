"""Stripe API connector: connection check, pages of balance transactions, payout contents.

Balance transactions are the ledger's source of truth for Stripe: every movement of the
balance (charge, refund, dispute, fee, payout ...) is one, with gross, fee and net in the
balance currency. They are listed newest first with `starting_after=<last id>`; a cursor
on ids never shifts when new transactions arrive during a sync (they are newer than
every page still to come), so nothing is skipped or repeated.

The secret key goes out as `Authorization: Bearer` (connectors.auth.Bearer, which hides it
from repr and has the HTTP client scrub it from every message). Requests are paced by a
token bucket at the key mode's published rate (test 25/s, live 100/s); a 429 backs off
exponentially, and Stripe's `Stripe-Should-Retry` header overrides the retry decision both
ways. JSON is parsed exactly (bigledger.money.loads_exact): amounts are integers in
Stripe's minor units; the transform converts them to ISO 4217 minor units.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from bigledger.errors import InvalidCredentials, PlatformError
from bigledger.money import loads_exact
from connectors.auth import Bearer
from connectors.http import ApiResponse, Backoff, HttpClient, RetryDecision
from connectors.pagination import BodyCursorPaginator, PageRequest, paginate
from connectors.ratelimit import Throttle, TokenBucketPolicy
from connectors.webhook_registration import WebhookRegistration, WebhookSubscriptionRef

API_BASE = "https://api.stripe.com"
ACCOUNT_PATH = "/v1/account"
BALANCE_PATH = "/v1/balance"
BALANCE_TRANSACTIONS_PATH = "/v1/balance_transactions"
PAYOUTS_PATH = "/v1/payouts"
WEBHOOK_ENDPOINTS_PATH = "/v1/webhook_endpoints"
# Every event that moves money through the balance the ledger follows: charges and their
# refunds and disputes, payouts. (Stripe's API takes explicit types or "*", no wildcards.)
DEFAULT_WEBHOOK_EVENTS = (
    "charge.succeeded", "charge.failed", "charge.captured", "charge.refunded",
    "charge.updated", "charge.refund.updated", "charge.dispute.created",
    "charge.dispute.updated", "charge.dispute.closed", "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated", "refund.created", "refund.updated", "refund.failed",
    "payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled",
)  # fmt: skip
MAX_LIMIT = 100
# docs.stripe.com/rate-limits: requests per second per mode.
TEST_RATE = 25.0
LIVE_RATE = 100.0

Mode = Literal["test", "live"]


def key_mode(secret_key: str) -> Mode:
    """'test' or 'live' from a secret (`sk_`) or restricted (`rk_`) key's prefix.

    Raises InvalidCredentials for anything else, notably a publishable key (`pk_`), which
    cannot read balance transactions.
    """
    if not isinstance(secret_key, str) or not secret_key.strip():
        raise InvalidCredentials("secretKey is missing")
    key = secret_key.strip()
    if key.startswith(("sk_test_", "rk_test_")):
        return "test"
    if key.startswith(("sk_live_", "rk_live_")):
        return "live"
    if key.startswith("pk_"):
        raise InvalidCredentials(
            "a publishable key (pk_...) cannot read the Stripe balance; use a secret key "
            "(sk_...) or a restricted key (rk_...) with read access"
        )
    raise InvalidCredentials(
        "secretKey must be a Stripe secret key (sk_test_..., sk_live_...) or a restricted "
        "key (rk_test_..., rk_live_...)"
    )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of balance transactions, newest first, as Stripe sends them.

    `end_cursor` is the id to pass as `starting_after` for the next page (the last id of
    the raw page, even when a client-side type filter dropped that record).
    """

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool


class StripeRatePolicy(TokenBucketPolicy):
    """The key mode's published rate as a token bucket (a second's worth of burst).

    Stripe sends no Retry-After with a 429, so a refusal empties the bucket and leaves the
    wait to the client's exponential backoff rather than retrying at the bucket's pace.
    The pre-2019 API answered 400 with `code: rate_limit`; that counts as a 429.
    """

    def throttle(self, response: ApiResponse) -> Throttle | None:
        """429 (or the legacy 400 rate_limit): back off; Retry-After is honoured if sent."""
        if response.status_code != 429 and not _legacy_rate_limit(response):
            return None
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self._tokens, 0.0)
        return Throttle(self.retry_after(response), f"{response.status_code} rate_limit")


def _legacy_rate_limit(response: ApiResponse) -> bool:
    if response.status_code != 400 or not isinstance(response.data, dict):
        return False
    error = response.data.get("error")
    return isinstance(error, dict) and error.get("code") == "rate_limit"


class StripeHttpClient(HttpClient):
    """HttpClient that obeys `Stripe-Should-Retry` (stripe-python does the same).

    `false`: the request must not be repeated (e.g. it conflicted with a concurrent one), so
    the mapped error is raised at once; `true`: Stripe says a retry is safe, even for an
    error status it would otherwise not retry (a 409 lock timeout).
    """

    def classify(
        self, raw: httpx.Response, *, method: str, parse: bool, idempotent: bool
    ) -> ApiResponse | RetryDecision:
        """Base rules, then the header's override."""
        advice = raw.headers.get("Stripe-Should-Retry", "").strip().lower()
        status = raw.status_code
        if advice == "true" and 400 <= status < 500 and status not in (401, 403, 429):
            # A 4xx Stripe calls retryable (lock timeout, idempotency race): back off.
            message = self._message(status, method, raw.request.url.path, _body(raw), raw)
            details = {"status": status, "method": method, "path": raw.request.url.path}
            return RetryDecision(PlatformError(message, details=details), None, False)
        outcome = super().classify(raw, method=method, parse=parse, idempotent=idempotent)
        if advice == "false" and isinstance(outcome, RetryDecision):
            raise outcome.error
        return outcome


def _body(raw: httpx.Response) -> Any:
    try:
        return loads_exact(raw.content) if raw.content else None
    except ValueError:
        return None


def _seconds(value: datetime, *, round_up: bool) -> int:
    if value.utcoffset() is None:
        raise ValueError("datetime must carry a timezone (e.g. 2024-01-01T00:00:00Z)")
    stamp = value.timestamp()
    return math.ceil(stamp) if round_up else math.floor(stamp)


def created_params(created_from: datetime | None, created_to: datetime | None) -> dict[str, int]:
    """`created[gte]`/`created[lte]` for an inclusive range (Stripe times are whole seconds:
    the lower bound rounds up, the upper down, so a sub-second bound never widens it)."""
    params: dict[str, int] = {}
    if created_from is not None:
        params["created[gte]"] = _seconds(created_from, round_up=True)
    if created_to is not None:
        params["created[lte]"] = _seconds(created_to, round_up=False)
    if "created[gte]" in params and "created[lte]" in params:
        if params["created[gte]"] > params["created[lte]"]:
            raise ValueError("created_from is after created_to")
    return params


class StripeConnector:
    """Stripe for one account: balance transactions (with their source objects), payouts and
    the account itself. Read-only."""

    platform = "stripe"

    def __init__(
        self,
        secret_key: str,
        base_url: str | None = None,
        api_version: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        *,
        stripe_account: str | None = None,
        rate: float | None = None,
        budget_seconds: float | None = None,
        backoff: Backoff | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        self.mode: Mode = key_mode(secret_key)
        self.api_version = api_version
        self.rate = rate or (TEST_RATE if self.mode == "test" else LIVE_RATE)
        headers: dict[str, str] = {}
        if api_version:
            headers["Stripe-Version"] = api_version
        if stripe_account:
            headers["Stripe-Account"] = stripe_account  # Connect: act for a connected account
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = StripeHttpClient(
            base_url or API_BASE,
            platform=self.platform,
            auth=Bearer(secret_key.strip()),
            headers=headers,
            timeout=timeout,
            rate_limit=StripeRatePolicy(self.rate, self.rate, clock=clock),
            budget_seconds=budget_seconds,
            # stripe-python's own schedule: 0.5 s doubling, capped at 5 s.
            backoff=backoff or Backoff(initial=0.5, factor=2.0, maximum=5.0, jitter=0.5),
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )

    def __repr__(self) -> str:
        return (f"StripeConnector(base_url={str(self.http.base_url)!r}, mode={self.mode!r}, "
                f"api_version={self.api_version!r})")  # fmt: skip

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> StripeConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations ------------------------------------------------------------------------

    def check_connection(self) -> dict[str, Any]:
        """Prove the key works: `GET /v1/account` (id, default currency, country, mode)."""
        account = self._object(self.http.get(ACCOUNT_PATH), "account")
        profile = account.get("business_profile")
        return {
            "account_id": account.get("id"),
            "default_currency": account.get("default_currency"),
            "country": account.get("country"),
            "business_name": profile.get("name") if isinstance(profile, dict) else None,
            "livemode": self.mode == "live",
        }

    def fetch_balance(self) -> dict[str, Any]:
        """`GET /v1/balance`: available and pending amounts per currency (Stripe minor units)."""
        return self._object(self.http.get(BALANCE_PATH), "balance")

    def fetch_balance_transactions_page(
        self,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        starting_after: str | None = None,
        limit: int = MAX_LIMIT,
        types: Iterable[str] | None = None,
    ) -> Page:
        """One page (newest first) of balance transactions created in the inclusive range,
        after `starting_after`, each with its `source` object expanded."""
        params = self._txn_params(created_from, created_to, limit, types)
        if starting_after:
            params["starting_after"] = starting_after
        response = self.http.get(BALANCE_TRANSACTIONS_PATH, params=params)
        return self._page(response, _type_filter(types))

    def iter_balance_transaction_pages(
        self,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = MAX_LIMIT,
        types: Iterable[str] | None = None,
        starting_after: str | None = None,
    ) -> Iterator[Page]:
        """Every page of the range, newest first, each transaction exactly once; resume a
        stopped walk by passing the last page's `end_cursor` as `starting_after`."""
        params = self._txn_params(created_from, created_to, limit, types)
        wanted = _type_filter(types)
        state = {"cursor": starting_after} if starting_after else None
        paginator = BodyCursorPaginator(cursor_path="data[-1].id", param="starting_after",
                                        has_more_path="has_more", records_path="data",
                                        state=state)  # fmt: skip
        request = PageRequest(url=BALANCE_TRANSACTIONS_PATH, params=params)
        for response in paginate(self.http, request, paginator):
            yield self._page(response, wanted)

    def payout_transaction_ids(self, payout_id: str) -> list[str]:
        """Ids of the balance transactions an automatic payout carried (its own included):
        `GET /v1/balance_transactions?payout=po_...`, every page."""
        if not isinstance(payout_id, str) or not payout_id.startswith("po_"):
            raise ValueError(f"not a payout id: {payout_id!r}")
        request = PageRequest(url=BALANCE_TRANSACTIONS_PATH,
                              params={"payout": payout_id, "limit": MAX_LIMIT})  # fmt: skip
        paginator = BodyCursorPaginator(cursor_path="data[-1].id", param="starting_after",
                                        has_more_path="has_more", records_path="data")
        ids: list[str] = []
        for response in paginate(self.http, request, paginator):
            ids.extend(record["id"] for record in self._page(response, None).records)
        return ids

    def payout_map(self, payout_ids: Iterable[str]) -> dict[str, str]:
        """`{balance transaction id: payout id}` for every transaction the payouts carried
        (one paged listing per payout: for the transform's `payout_id`)."""
        out: dict[str, str] = {}
        for payout_id in dict.fromkeys(payout_ids):
            for txn_id in self.payout_transaction_ids(payout_id):
                out[txn_id] = payout_id
        return out

    def iter_payout_pages(
        self,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = MAX_LIMIT,
    ) -> Iterator[Page]:
        """Every page of payouts created in the inclusive range, newest first."""
        _check_limit(limit)
        params: dict[str, Any] = {"limit": limit, **created_params(created_from, created_to)}
        paginator = BodyCursorPaginator(cursor_path="data[-1].id", param="starting_after",
                                        has_more_path="has_more", records_path="data")
        for response in paginate(self.http, PageRequest(url=PAYOUTS_PATH, params=params),
                                 paginator):  # fmt: skip
            yield self._page(response, None)

    # -- webhook endpoints ----------------------------------------------------------------

    def list_webhook_endpoints(self, url: str | None = None) -> list[dict[str, Any]]:
        """Every webhook endpoint of the account (those for `url` when given), newest first.
        Stripe never shows an endpoint's secret again after creating it."""
        paginator = BodyCursorPaginator(cursor_path="data[-1].id", param="starting_after",
                                        has_more_path="has_more", records_path="data")
        request = PageRequest(url=WEBHOOK_ENDPOINTS_PATH, params={"limit": MAX_LIMIT})
        found: list[dict[str, Any]] = []
        for response in paginate(self.http, request, paginator):
            for endpoint in self._page(response, None).records:
                if url is None or endpoint.get("url") == url:
                    found.append(endpoint)
        return found

    def register_webhooks(self, callback_url: str, topics: list[str] | None = None
                          ) -> WebhookRegistration:  # fmt: skip
        """One endpoint for `callback_url` with `topics` (default DEFAULT_WEBHOOK_EVENTS)
        enabled. A new endpoint's signing secret (`whsec_...`) is in the result, the only
        time Stripe shows it; an existing endpoint for the URL is reused (its events set to
        `topics`, re-enabled) and its secret is None: keep the one stored when it was
        created. Further endpoints for the same URL are deleted (they would deliver twice)."""
        wanted = list(dict.fromkeys(topics or DEFAULT_WEBHOOK_EVENTS))
        # Oldest first (the list is newest first; ties in `created` keep that order).
        existing = sorted(reversed(self.list_webhook_endpoints(callback_url)),
                          key=lambda e: e.get("created") or 0)  # fmt: skip
        removed: list[str] = []
        secret: str | None = None
        if existing:
            endpoint = existing[0]
            if (list(endpoint.get("enabled_events") or []) != wanted
                    or endpoint.get("status") != "enabled"):
                self.http.request("POST", f"{WEBHOOK_ENDPOINTS_PATH}/{endpoint['id']}",
                                  data={"enabled_events[]": wanted, "disabled": "false"},
                                  idempotent=True)  # fmt: skip
            for extra in existing[1:]:
                self.http.request("DELETE", f"{WEBHOOK_ENDPOINTS_PATH}/{extra['id']}")
                removed.append(extra["id"])
            created: tuple[str, ...] = ()
            reused: tuple[str, ...] = (endpoint["id"],)
        else:
            # The Idempotency-Key makes a retried create return the first answer, not a
            # second endpoint.
            response = self.http.request(
                "POST", WEBHOOK_ENDPOINTS_PATH, idempotent=True,
                data={"url": callback_url, "enabled_events[]": wanted},
                headers={"Idempotency-Key": f"bigledger-webhook-{uuid.uuid4()}"},
            )  # fmt: skip
            endpoint = self._object(response, "webhook_endpoint")
            secret = endpoint.get("secret")
            if not isinstance(secret, str) or not secret.startswith("whsec_"):
                raise PlatformError("stripe created a webhook endpoint without its secret")
            created, reused = (endpoint["id"],), ()
        refs = tuple(WebhookSubscriptionRef(endpoint["id"], event) for event in wanted)
        return WebhookRegistration(platform=self.platform, callback_url=callback_url,
                                   subscriptions=refs, secret=secret, created=created,
                                   reused=reused, removed=tuple(removed))  # fmt: skip

    def unregister_webhooks(self, callback_url: str) -> WebhookRegistration:
        """Delete every webhook endpoint for `callback_url`."""
        removed: list[WebhookSubscriptionRef] = []
        ids: list[str] = []
        for endpoint in self.list_webhook_endpoints(callback_url):
            self.http.request("DELETE", f"{WEBHOOK_ENDPOINTS_PATH}/{endpoint['id']}")
            ids.append(endpoint["id"])
            removed.extend(WebhookSubscriptionRef(endpoint["id"], event)
                           for event in endpoint.get("enabled_events") or [])  # fmt: skip
        return WebhookRegistration(platform=self.platform, callback_url=callback_url,
                                   subscriptions=tuple(removed), removed=tuple(ids))  # fmt: skip

    # -- helpers ---------------------------------------------------------------------------

    def _txn_params(
        self,
        created_from: datetime | None,
        created_to: datetime | None,
        limit: int,
        types: Iterable[str] | None,
    ) -> dict[str, Any]:
        _check_limit(limit)
        params: dict[str, Any] = {
            "limit": limit,
            "expand[]": "data.source",
            **created_params(created_from, created_to),
        }
        wanted = _type_filter(types)
        if wanted is not None and len(wanted) == 1:
            # Stripe filters on one type only; several are filtered here (see _page).
            params["type"] = next(iter(wanted))
        return params

    def _object(self, response: ApiResponse, kind: str) -> dict[str, Any]:
        data = response.data
        if not isinstance(data, dict) or data.get("object") != kind:
            raise PlatformError(f"stripe {response.path} did not answer with a {kind} object",
                                details={"path": response.path})  # fmt: skip
        return data

    def _page(self, response: ApiResponse, wanted: frozenset[str] | None) -> Page:
        body = response.data
        records = body.get("data") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("object") != "list"
            or not isinstance(records, list)
            or not isinstance(body.get("has_more"), bool)
        ):
            raise PlatformError(f"stripe {response.path} did not answer with a list object",
                                details={"path": response.path})  # fmt: skip
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise PlatformError(f"stripe {response.path} list holds a record without an id",
                                    details={"path": response.path})  # fmt: skip
        end_cursor = records[-1]["id"] if records else None
        has_more = body["has_more"] and end_cursor is not None
        if wanted is not None and len(wanted) > 1:
            records = [r for r in records if r.get("type") in wanted]
        return Page(records, end_cursor, has_more)


def _type_filter(types: Iterable[str] | None) -> frozenset[str] | None:
    if types is None:
        return None
    if isinstance(types, str):
        types = [types]
    wanted = frozenset(types)
    if not wanted:
        raise ValueError("types must name at least one balance transaction type")
    return wanted


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
