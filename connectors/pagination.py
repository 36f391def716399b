"""One small paginator per pagination style, and `paginate()` to walk any of them.

Interface: `first(request)` gives the first request (or the resumed one), `next(request,
response)` gives the next request or None, `state` is a JSON-serialisable position of the
*next* page. `paginate()` computes the next position before yielding a page, so a caller
that commits a page together with `paginator.state` resumes exactly after that page.
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import httpx

from bigledger.errors import PlatformError
from connectors.paths import get_path

if TYPE_CHECKING:
    from connectors.http import ApiResponse, HttpClient


@dataclass(frozen=True)
class PageRequest:
    """What to send for one page; paginators return modified copies."""

    method: str = "GET"
    url: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cost: float = 1.0
    idempotent: bool | None = None  # None: by method; True for GraphQL queries sent as POST

    def with_params(self, params: Mapping[str, Any]) -> PageRequest:
        """A copy with these query parameters merged in."""
        return replace(self, params={**self.params, **params})


class Paginator(ABC):
    """Common base: resumable state, a done flag, and a guard against cursors that repeat."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self._state: dict[str, Any] = dict(state or {})
        self.done = bool(self._state.pop("done", False))
        self._seen: set[str] = set()

    @property
    def state(self) -> dict[str, Any]:
        """Position of the next page, JSON-serialisable; pass back as `state=` to resume."""
        return {**self._state, "done": self.done}

    @abstractmethod
    def first(self, request: PageRequest) -> PageRequest:
        """The first request: the base request with initial (or resumed) paging parameters."""

    @abstractmethod
    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """The request for the page after `response`, or None when there is none."""

    def _finish(self) -> None:
        self.done = True
        self._state = {}

    def _advance(self, key: str, value: Any) -> None:
        # A platform handing back a cursor we already followed would make us loop forever
        # (or, worse, stop silently); refuse loudly instead.
        marker = f"{key}={value}"
        if marker in self._seen:
            raise PlatformError(f"pagination did not advance: {key} repeated", details={"key": key})
        self._seen.add(marker)
        self._state = {key: value}


def _records(response: ApiResponse, records_path: str | None) -> list[Any] | None:
    records = get_path(response.data, records_path) if records_path else response.data
    return records if isinstance(records, list) else None


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";]+)"?""", re.IGNORECASE)


def parse_link_header(value: str | None) -> dict[str, str]:
    """`Link` header -> {rel: url} (`<https://...>; rel="next", <...>; rel="previous"`)."""
    links: dict[str, str] = {}
    for url, params in _LINK.findall(value or ""):
        rel = _REL.search(params)
        if rel:
            for name in rel.group(1).split():
                links.setdefault(name.lower(), url.strip())
    return links


class LinkHeaderPaginator(Paginator):
    """Follow the `Link: <...>; rel="next"` URL (WooCommerce, Shopify REST).

    With `cursor_param` (Shopify's `page_info`) the cursor is read out of the next URL and
    sent to the original path with only `keep_params`, because Shopify bakes the filters into
    the cursor and refuses them alongside it.
    """

    def __init__(
        self,
        *,
        rel: str = "next",
        cursor_param: str | None = None,
        keep_params: Sequence[str] = ("limit", "fields"),
        state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(state)
        self.rel = rel
        self.cursor_param = cursor_param
        self.keep_params = tuple(keep_params)

    def first(self, request: PageRequest) -> PageRequest:
        """The base request, or the resumed next URL / cursor."""
        if "next_url" in self._state:
            return replace(request, url=self._state["next_url"], params={})
        if "cursor" in self._state and self.cursor_param:
            return self._cursor_request(request, self._state["cursor"])
        return request

    def _cursor_request(self, request: PageRequest, cursor: str) -> PageRequest:
        kept = {k: v for k, v in request.params.items() if k in self.keep_params}
        return replace(request, params={**kept, self.cursor_param: cursor})

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """Next request from the Link header; None when it has no `rel="next"`."""
        url = parse_link_header(response.headers.get("Link")).get(self.rel)
        if not url:
            self._finish()
            return None
        if self.cursor_param:
            cursor = httpx.URL(url).params.get(self.cursor_param)
            if not cursor:
                raise PlatformError(f"Link {self.rel} URL has no {self.cursor_param}")
            self._advance("cursor", cursor)
            return self._cursor_request(request, cursor)
        self._advance("next_url", url)
        # The next URL carries every parameter; sending ours as well would duplicate them.
        return replace(request, url=url, params={})


class BodyCursorPaginator(Paginator):
    """A cursor found in the body (Stripe: `starting_after` = `data[-1].id` while `has_more`).

    Stops when `has_more_path` is false, the cursor is missing, or `records_path` is empty.
    Xero Journals fit too: cursor `Journals[-1].JournalNumber` into `offset`.
    """

    def __init__(
        self,
        *,
        cursor_path: str,
        param: str,
        has_more_path: str | None = None,
        records_path: str | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(state)
        self.cursor_path = cursor_path
        self.param = param
        self.has_more_path = has_more_path
        self.records_path = records_path

    def first(self, request: PageRequest) -> PageRequest:
        """The base request, plus the resumed cursor if any."""
        if "cursor" in self._state:
            return request.with_params({self.param: self._state["cursor"]})
        return request

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """Request with the cursor from this body; None at the end."""
        if self.has_more_path is not None and not get_path(response.data, self.has_more_path):
            self._finish()
            return None
        if self.records_path is not None and not _records(response, self.records_path):
            self._finish()
            return None
        cursor = get_path(response.data, self.cursor_path)
        if cursor is None or cursor == "":
            if self.has_more_path is not None:
                raise PlatformError(
                    f"{self.has_more_path} is true but {self.cursor_path} is missing"
                )
            self._finish()
            return None
        self._advance("cursor", cursor)
        return request.with_params({self.param: cursor})


class PageNumberPaginator(Paginator):
    """`page`/`per_page` (WooCommerce, PayPal, Xero).

    Stops at the total page count when the platform gives one (`X-WP-TotalPages` header or a
    body path such as PayPal's `total_pages`), otherwise at an empty or short page.
    """

    def __init__(
        self,
        *,
        page_param: str = "page",
        size_param: str | None = "per_page",
        page_size: int = 100,
        start_page: int = 1,
        total_pages_header: str | None = None,
        total_pages_path: str | None = None,
        records_path: str | None = None,
        stop_on_short_page: bool = True,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(state)
        self.page_param = page_param
        self.size_param = size_param
        self.page_size = page_size
        self.start_page = start_page
        self.total_pages_header = total_pages_header
        self.total_pages_path = total_pages_path
        self.records_path = records_path
        self.stop_on_short_page = stop_on_short_page

    def first(self, request: PageRequest) -> PageRequest:
        """The first (or resumed) page with the page size."""
        page = self._state.get("page", self.start_page)
        self._state = {"page": page}
        params: dict[str, Any] = {self.page_param: page}
        if self.size_param:
            params[self.size_param] = self.page_size
        return request.with_params(params)

    def _total_pages(self, response: ApiResponse) -> int | None:
        raw: Any = None
        if self.total_pages_header:
            raw = response.headers.get(self.total_pages_header)
        if raw is None and self.total_pages_path:
            raw = get_path(response.data, self.total_pages_path)
        try:
            return int(raw) if raw is not None else None
        except (TypeError, ValueError):
            return None

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """The following page number; None past the last page."""
        page = int(request.params.get(self.page_param, self.start_page))
        records = _records(response, self.records_path)
        total = self._total_pages(response)
        if records is not None and not records:
            self._finish()
            return None
        if total is not None:
            if page - self.start_page + 1 >= total:
                self._finish()
                return None
        elif records is None:
            raise PlatformError("page has no record list and no total page count to stop by")
        elif self.stop_on_short_page and len(records) < self.page_size:
            self._finish()
            return None
        self._advance("page", page + 1)
        return request.with_params({self.page_param: page + 1})


class OffsetPaginator(Paginator):
    """`offset`/`limit` (WooCommerce offset, QuickBooks STARTPOSITION/MAXRESULTS).

    Advances by the number of records actually returned, so a platform that silently caps
    the page size below `limit` does not make us skip records.
    """

    def __init__(
        self,
        *,
        offset_param: str = "offset",
        limit_param: str | None = "limit",
        limit: int = 100,
        start: int = 0,
        total_path: str | None = None,
        total_header: str | None = None,
        records_path: str | None = None,
        stop_on_short_page: bool = True,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(state)
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.limit = limit
        self.start = start
        self.total_path = total_path
        self.total_header = total_header
        self.records_path = records_path
        self.stop_on_short_page = stop_on_short_page

    def first(self, request: PageRequest) -> PageRequest:
        """The first (or resumed) offset with the limit."""
        offset = self._state.get("offset", self.start)
        self._state = {"offset": offset}
        params: dict[str, Any] = {self.offset_param: offset}
        if self.limit_param:
            params[self.limit_param] = self.limit
        return request.with_params(params)

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """The offset after this page; None when empty, short, or past the total."""
        offset = int(request.params.get(self.offset_param, self.start))
        records = _records(response, self.records_path)
        if records is None:
            raise PlatformError("page has no record list")
        if not records:
            self._finish()
            return None
        following = offset + len(records)
        total: Any = None
        if self.total_header:
            total = response.headers.get(self.total_header)
        if total is None and self.total_path:
            total = get_path(response.data, self.total_path)
        if total is not None:
            if following - self.start >= int(total):
                self._finish()
                return None
        elif self.stop_on_short_page and len(records) < self.limit:
            self._finish()
            return None
        self._advance("offset", following)
        return request.with_params({self.offset_param: following})


class NextTokenPaginator(Paginator):
    """Amazon-style `NextToken`; `sole_param` when the token must be the only parameter
    (Reports `getReports`: "nextToken must be the only parameter").

    Empty pages with a token continue (Finances may return empty pages first).
    """

    def __init__(
        self,
        *,
        token_path: str = "payload.NextToken",
        param: str = "NextToken",
        sole_param: bool = False,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(state)
        self.token_path = token_path
        self.param = param
        self.sole_param = sole_param

    def _with_token(self, request: PageRequest, token: str) -> PageRequest:
        if self.sole_param:
            return replace(request, params={self.param: token})
        return request.with_params({self.param: token})

    def first(self, request: PageRequest) -> PageRequest:
        """The base request, or the resumed token request."""
        if "token" in self._state:
            return self._with_token(request, self._state["token"])
        return request

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """Request carrying the body's token; None when there is none."""
        token = get_path(response.data, self.token_path)
        if not token:
            self._finish()
            return None
        self._advance("token", token)
        return self._with_token(request, token)


class GraphQLPageInfoPaginator(Paginator):
    """Relay `pageInfo {hasNextPage endCursor}` at `page_info_path`, fed to the `after` variable."""

    def __init__(
        self,
        *,
        page_info_path: str,
        variable: str = "after",
        state: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(state)
        self.page_info_path = page_info_path
        self.variable = variable

    def _with_cursor(self, request: PageRequest, cursor: str) -> PageRequest:
        body = copy.deepcopy(request.json) if isinstance(request.json, dict) else {}
        body.setdefault("variables", {})[self.variable] = cursor
        return replace(request, json=body)

    def first(self, request: PageRequest) -> PageRequest:
        """The base request, or the resumed cursor in the variables."""
        if "after" in self._state:
            return self._with_cursor(request, self._state["after"])
        return request

    def next(self, request: PageRequest, response: ApiResponse) -> PageRequest | None:
        """Request with `after` = endCursor while hasNextPage."""
        info = get_path(response.data, self.page_info_path)
        if not isinstance(info, dict) or not info.get("hasNextPage"):
            self._finish()
            return None
        cursor = info.get("endCursor")
        if not cursor:
            raise PlatformError(f"{self.page_info_path}.hasNextPage is true without an endCursor")
        self._advance("after", cursor)
        return self._with_cursor(request, cursor)


def paginate(
    client: HttpClient, request: PageRequest, paginator: Paginator
) -> Iterator[ApiResponse]:
    """Yield every page; `paginator.state` already points past a page when it is yielded."""
    if paginator.done:
        return
    current: PageRequest | None = paginator.first(request)
    while current is not None:
        response = client.request(
            current.method,
            current.url,
            params=current.params or None,
            json=current.json,
            headers=current.headers or None,
            cost=current.cost,
            idempotent=current.idempotent,
        )
        following = paginator.next(current, response)
        yield response
        current = following
