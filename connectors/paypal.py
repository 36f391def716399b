"""PayPal connector: OAuth client credentials and Transaction Search over any date range.

Transaction Search (`GET /v1/reporting/transactions`) answers one range of at most 31 days
with at most 10,000 results, shows a transaction up to 3 hours after it happened, and pages
with `page`/`page_size` (≤ 500). This connector hides all of that behind one resumable
cursor over a range:

* the range is cut into windows of at most 31 days (`windows()`), half-open `[start, end)`
  in whole seconds, contiguous: every second of the range is in exactly one window. PayPal
  treats `end_date` as inclusive (clients send `...T23:59:59`), so a window is sent as
  `start_date=start, end_date=end − 1 s`; `end_inclusive=False` sends `end` instead;
* a window that answers RESULTSET_TOO_LARGE is halved (again and again if needed) and the
  halves read in order; after them the walk re-joins the 31-day plan;
* the cursor (`Page.end_cursor`) encodes the window and the next page, so a crashed sync
  resumes exactly there;
* PayPal publishes a transaction up to 3 hours late and says up to when its data is
  complete (`last_refreshed_datetime`). A window it has published only in part ends the
  walk after its last page, and a window past what it has published ("Data for the given
  start date is not available.") ends it with an empty page; either way the last cursor
  resumes from the first unpublished second, and an incremental sync must never move its
  own high-water mark past `settled_until(now, page.last_refreshed)`.

The OAuth token is cached per (token URL, client id, secret) for the whole process and
reused until shortly before it expires (PayPal counts needless token requests against its
rate limits), so connectors built per task run share one token.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bigledger.errors import InvalidCredentials, PlatformError
from bigledger.money import loads_exact
from connectors.auth import OAuth2ClientCredentials
from connectors.http import ApiResponse, HttpClient, RetryDecision

log = logging.getLogger(__name__)

LIVE_BASE_URL = "https://api-m.paypal.com"
SANDBOX_BASE_URL = "https://api-m.sandbox.paypal.com"
TOKEN_PATH = "/v1/oauth2/token"
TRANSACTIONS_PATH = "/v1/reporting/transactions"
BALANCES_PATH = "/v1/reporting/balances"
MAX_WINDOW = timedelta(days=31)
MAX_PAGE_SIZE = 500
PUBLICATION_LAG = timedelta(hours=3)
# Fetch a new token this long before the old one expires (tokens last ~9 hours).
TOKEN_REFRESH_MARGIN_SECONDS = 300.0
_CURSOR_PREFIX = "ppw1"
_NOT_AVAILABLE = "not available"

# Process-wide token cache: key -> {"access_token", "expires_at"}.
_TOKENS: dict[str, dict[str, Any]] = {}
_TOKENS_LOCK = threading.Lock()


def settled_until(now: datetime, last_refreshed: datetime | None) -> datetime:
    """The latest instant an incremental cursor may advance to: never past now − 3 h (the
    publication lag), nor past what PayPal says it has refreshed."""
    bound = now - PUBLICATION_LAG
    if last_refreshed is not None and last_refreshed < bound:
        bound = last_refreshed
    return bound


def windows(
    start: datetime, end: datetime, max_window: timedelta = MAX_WINDOW
) -> list[tuple[datetime, datetime]]:
    """`[start, end)` cut into contiguous half-open windows of at most `max_window`: each
    window ends where the next begins, the last ends at `end` (no gap, no overlap)."""
    lo, hi = _seconds(start, "start"), _seconds(end, "end", ceil=True)
    step = int(max_window.total_seconds())
    if step < 1:
        raise ValueError("max_window must be at least one second")
    out = []
    while lo < hi:
        upper = min(lo + step, hi)
        out.append((_dt(lo), _dt(upper)))
        lo = upper
    return out


@dataclass(frozen=True, slots=True)
class Page:
    """One Transaction Search page: `transaction_details` elements as PayPal sends them
    (money stays decimal strings), the cursor after it, and PayPal's refresh time."""

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool
    last_refreshed: datetime | None


class _ResultSetTooLarge(PlatformError):
    def __init__(self, message: str, maximum_items: Any) -> None:
        super().__init__(message, details={"maximumItems": maximum_items})


class _DataNotAvailable(PlatformError):
    pass


class _PayPalHttp(HttpClient):
    """HttpClient that tells PayPal's two 400s a reader must act on from the others."""

    def classify(self, raw: httpx.Response, *, method: str, parse: bool,
                 idempotent: bool) -> ApiResponse | RetryDecision:  # fmt: skip
        """RESULTSET_TOO_LARGE and "data not available" become their own errors."""
        if raw.status_code in (400, 404) and raw.request.url.path.endswith(TRANSACTIONS_PATH):
            try:
                body = loads_exact(raw.content) if raw.content else None
            except ValueError:
                body = None
            if isinstance(body, dict):
                name, message = body.get("name"), str(body.get("message") or "")
                if name == "RESULTSET_TOO_LARGE":
                    raise _ResultSetTooLarge(f"paypal: {message}", body.get("maximum_items"))
                if name == "INVALID_REQUEST" and _NOT_AVAILABLE in message.lower():
                    raise _DataNotAvailable(f"paypal: {message}")
        return super().classify(raw, method=method, parse=parse, idempotent=idempotent)


class PayPalConnector:
    """PayPal REST for one app (client id and secret): balances and Transaction Search."""

    platform = "paypal"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
        fields: str = "transaction_info",
        balance_affecting_only: bool = True,
        end_inclusive: bool = True,
        max_window: timedelta = MAX_WINDOW,
        budget_seconds: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
        acquire: Callable[[], None] | None = None,
        allow_insecure_http: bool | None = None,
        token_cache: MutableMapping[str, dict[str, Any]] | None = None,
    ) -> None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise InvalidCredentials("clientId is required")
        if not isinstance(client_secret, str) or not client_secret.strip():
            raise InvalidCredentials("clientSecret is required")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if max_window.total_seconds() < 2:
            raise ValueError("max_window must be at least two seconds")
        self.base_url = (base_url or LIVE_BASE_URL).rstrip("/")
        self.page_size = page_size
        self.fields = fields
        self.balance_affecting_only = balance_affecting_only
        self.end_inclusive = end_inclusive
        self.max_window = max_window
        token_url = f"{self.base_url}{TOKEN_PATH}"
        self._cache = _TOKENS if token_cache is None else token_cache
        self._cache_key = hashlib.sha256(
            f"{token_url}\0{client_id}\0{client_secret}".encode()).hexdigest()  # fmt: skip
        self.auth = OAuth2ClientCredentials(
            token_url,
            client_id,
            client_secret,
            client_auth="basic",
            token=self._cached_token(),
            on_token=self._store_token,
            refresh_margin_seconds=TOKEN_REFRESH_MARGIN_SECONDS,
            clock=wall_clock,
            allow_insecure_http=allow_insecure_http,
        )
        extra: dict[str, Any] = {"rand": rand} if rand is not None else {}
        self.http = _PayPalHttp(
            self.base_url,
            platform=self.platform,
            auth=self.auth,
            timeout=timeout,
            budget_seconds=budget_seconds,
            transport=transport,
            sleep=sleep,
            clock=clock,
            acquire=acquire,
            allow_insecure_http=allow_insecure_http,
            **extra,
        )

    def __repr__(self) -> str:
        return f"PayPalConnector(base_url={self.base_url!r}, client_id={self.auth.client_id!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> PayPalConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- token cache -----------------------------------------------------------------------

    def _cached_token(self) -> dict[str, Any] | None:
        with _TOKENS_LOCK:
            token = self._cache.get(self._cache_key)
            return dict(token) if token else None

    def _store_token(self, token: dict[str, Any]) -> None:
        # Only what a reuse needs: the access token and when it expires.
        kept = {"access_token": token.get("access_token"), "expires_at": token.get("expires_at")}
        with _TOKENS_LOCK:
            self._cache[self._cache_key] = kept

    # -- operations ------------------------------------------------------------------------

    def check_connection(self) -> dict[str, Any]:
        """Prove the credentials work: a token, then one balances call (AuthFailed if the
        client is refused). Returns the account id and its currencies' balances."""
        body = self.balances()
        balances = body.get("balances") if isinstance(body, dict) else None
        if not isinstance(balances, list):
            raise PlatformError("paypal balances answer has no balances list")
        return {
            "account_id": body.get("account_id"),
            "as_of_time": body.get("as_of_time"),
            "balances": {
                str(b.get("currency")): (b.get("total_balance") or {}).get("value")
                for b in balances if isinstance(b, dict)
            },
        }

    def balances(self, as_of: datetime | None = None, currency: str | None = None) -> Any:
        """`GET /v1/reporting/balances` as PayPal answers it (optionally as of a time)."""
        params: dict[str, str] = {}
        if as_of is not None:
            params["as_of_time"] = _rfc3339(_seconds(as_of, "as_of"))
        if currency:
            params["currency_code"] = currency.upper()
        return self.http.get(BALANCES_PATH, params=params or None).data

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The range cut into the windows this connector asks PayPal for (see `windows()`)."""
        return windows(start, end, self.max_window)

    def fetch_transactions_page(
        self, start: datetime, end: datetime, cursor: str | None = None
    ) -> Page:
        """The next non-empty page of `[start, end)` after `cursor` (None: from the start).

        Windows with nothing in them are walked through within the call. The last page has
        `has_next_page` False; its cursor resumes from the first second PayPal had not yet
        published (or to nothing once the range is done). `last_refreshed` is the
        earliest refresh time PayPal reported during the walk (carried in the cursor), or
        one second before a window PayPal refused as not yet published: every window read
        is complete up to it, so `settled_until(now, page.last_refreshed)` of the last page
        is where an incremental cursor may move to.
        """
        lo, hi = _seconds(start, "start"), _seconds(end, "end", ceil=True)
        step = int(self.max_window.total_seconds())
        ws, we, page, refreshed = self._decode(cursor, lo, hi, step)
        while ws < hi:
            try:
                response = self._search(ws, we, page)
            except _ResultSetTooLarge as exc:
                if we - ws < 2:
                    raise PlatformError(
                        f"paypal: more than {exc.details.get('maximumItems')} transactions in "
                        f"the one second at {_rfc3339(ws)}; cannot split further",
                        details={"start": _rfc3339(ws), "end": _rfc3339(we)},
                    ) from None
                if page > 1:
                    # The window grew past the cap while being read; its earlier pages are
                    # read again within the halves (duplicates, absorbed by upserts).
                    log.warning("paypal: window %s..%s became too large at page %d",
                                _rfc3339(ws), _rfc3339(we), page)  # fmt: skip
                we, page = ws + (we - ws) // 2, 1
                continue
            except _DataNotAvailable:
                # Nothing published from this window on: stop, resumable at this window.
                refreshed = _earliest(refreshed, ws - 1)
                return Page([], self._encode(ws, we, page, refreshed), False, _dt_or_none(
                    refreshed))  # fmt: skip
            records, total_pages, stated = self._parse(response.data, ws, we, page)
            stated_s = None if stated is None else _seconds(stated, "last_refreshed")
            if stated_s is not None:
                refreshed = _earliest(refreshed, stated_s)
            if page < total_pages:
                ws_next, we_next, page_next = ws, we, page + 1
            elif stated_s is not None and stated_s < we - 1:
                # PayPal has published this window only up to stated_s: the walk ends here
                # and resumes from the next second, never past the unpublished rest.
                cursor_next = self._encode(stated_s + 1, we, 1, refreshed)
                return Page(records, cursor_next, False, _dt_or_none(refreshed))
            else:
                # Next window: from here to the next boundary of the 31-day plan, so a range
                # that had to be halved re-joins the plan.
                ws_next, we_next, page_next = we, min(hi, lo + ((we - lo) // step + 1) * step), 1
            if records or ws_next >= hi:
                return Page(records, self._encode(ws_next, we_next, page_next, refreshed),
                            ws_next < hi, _dt_or_none(refreshed))  # fmt: skip
            ws, we, page = ws_next, we_next, page_next
        return Page([], self._encode(hi, hi, 1, refreshed), False, _dt_or_none(refreshed))

    def iter_transaction_pages(self, start: datetime, end: datetime,
                               cursor: str | None = None) -> Iterator[Page]:  # fmt: skip
        """Every page of `[start, end)` (from `cursor`), each transaction exactly once."""
        while True:
            page = self.fetch_transactions_page(start, end, cursor)
            yield page
            if not page.has_next_page:
                return
            cursor = page.end_cursor

    # -- helpers ---------------------------------------------------------------------------

    def _search(self, ws: int, we: int, page: int) -> ApiResponse:
        params = {
            "start_date": _rfc3339(ws),
            "end_date": _rfc3339(we - 1 if self.end_inclusive else we),
            "fields": self.fields,
            "balance_affecting_records_only": "Y" if self.balance_affecting_only else "N",
            "page_size": str(self.page_size),
            "page": str(page),
        }
        return self.http.get(TRANSACTIONS_PATH, params=params)

    @staticmethod
    def _parse(data: Any, ws: int, we: int,
               page: int) -> tuple[list[dict[str, Any]], int, datetime | None]:  # fmt: skip
        where = f"paypal transactions {_rfc3339(ws)}..{_rfc3339(we)} page {page}"
        if not isinstance(data, dict):
            raise PlatformError(f"{where}: answer is not an object")
        records = data.get("transaction_details", [])
        if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
            raise PlatformError(f"{where}: transaction_details is not a list of objects")
        total_pages = data.get("total_pages")
        if isinstance(total_pages, bool) or not isinstance(total_pages, int):
            raise PlatformError(f"{where}: total_pages missing")
        refreshed = _parse_time(data.get("last_refreshed_datetime"))
        return records, total_pages, refreshed

    @staticmethod
    def _encode(ws: int, we: int, page: int, refreshed: int | None) -> str:
        """`ppw1.<window start>.<window end>.<page>.<earliest refresh or ->` (epoch seconds)."""
        return f"{_CURSOR_PREFIX}.{ws}.{we}.{page}.{'-' if refreshed is None else refreshed}"

    @staticmethod
    def _decode(cursor: str | None, lo: int, hi: int,
                step: int) -> tuple[int, int, int, int | None]:  # fmt: skip
        if not cursor:
            return lo, min(hi, lo + step), 1, None
        try:
            prefix, ws_text, we_text, page_text, refreshed_text = cursor.split(".")
            ws, we, page = int(ws_text), int(we_text), int(page_text)
            refreshed = None if refreshed_text == "-" else int(refreshed_text)
        except ValueError:
            raise PlatformError(f"paypal cursor {cursor!r} is not one this connector "
                                "issued") from None  # fmt: skip
        if prefix != _CURSOR_PREFIX or not lo <= ws <= we <= hi or page < 1 or (
                ws < we and we - ws > step):  # fmt: skip
            raise PlatformError(f"paypal cursor {cursor!r} does not belong to this range")
        return ws, we, page, refreshed


def _seconds(value: datetime, what: str, *, ceil: bool = False) -> int:
    """Epoch seconds of an aware datetime; the range end is rounded up, its start down, so
    a sub-second bound never drops a transaction (PayPal times are whole seconds)."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    whole = int(value.timestamp() // 1)
    if ceil and value.microsecond:
        whole += 1
    return whole


def _dt(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _dt_or_none(seconds: int | None) -> datetime | None:
    return None if seconds is None else _dt(seconds)


def _earliest(current: int | None, candidate: int) -> int:
    return candidate if current is None else min(current, candidate)


def _rfc3339(seconds: int) -> str:
    return _dt(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        # PayPal answers `2017-01-02T06:59:59+0000`; fromisoformat reads it.
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.utcoffset() is not None else None
