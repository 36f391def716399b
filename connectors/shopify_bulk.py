"""Shopify bulk backfill: start a bulk query over orders, wait for it, stream its JSONL.

The result file has one line per order and one per line item and shipping line, each child
carrying `__parentId` and following its parent (grouped output). `regroup_orders` puts the
children back under their order in exactly ORDERS_QUERY's node shape and yields batches of
complete orders, so memory holds one batch whatever the file's size. Lines are parsed with
`loads_exact`: fractions are Decimal, money stays a decimal string.

The download URL is a signed URL on another host (Google Cloud Storage for Shopify): it is
fetched without the shop's token, and never logged (its query string is the credential).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from bigledger.errors import PlatformError, PlatformUnavailable
from bigledger.money import loads_exact
from bigledger.settings import get_settings
from connectors.http import USER_AGENT, check_url_security
from connectors.paths import get_path
from connectors.shopify_queries import (
    BULK_OPERATION_QUERY,
    BULK_OPERATION_RUN_QUERY_GROUPED_MUTATION,
    BULK_OPERATION_RUN_QUERY_MUTATION,
    BULK_ORDERS_QUERY_TEMPLATE,
    ORDER_CREATED_BOUND_QUERY,
)

if TYPE_CHECKING:
    from connectors.shopify import OrderFilter

log = logging.getLogger(__name__)

DOWNLOAD_CHUNK = 64 * 1024
FAILED_STATUSES = ("FAILED", "CANCELED", "CANCELING", "EXPIRED")
# Which connection of the order node a child line belongs to, by the type in its gid.
_CHILD_CONNECTIONS = {"LineItem": "lineItems", "ShippingLine": "shippingLines"}


def bulk_orders_query(filter: OrderFilter) -> str:
    """The bulk query document for `filter` (search and sort embedded: no variables)."""
    arguments = [f"sortKey: {filter.sort_key.value}"]
    search = filter.to_search_query()
    if search is not None:
        # A JSON string literal is a valid GraphQL string literal.
        arguments.insert(0, f"query: {json.dumps(search)}")
    return BULK_ORDERS_QUERY_TEMPLATE.replace("__ORDERS_ARGUMENTS__", ", ".join(arguments))


def _groups_objects(api_version: str) -> bool:
    """Whether bulkOperationRunQuery takes `groupObjects` (API 2025-10 and later)."""
    return api_version == "unstable" or api_version >= "2025-10"


def _new_order(node: dict[str, Any]) -> dict[str, Any]:
    node["lineItems"] = {"nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    node["shippingLines"] = {"nodes": []}
    return node


def regroup_orders(lines: Iterable[bytes | str], batch_size: int = 500) -> Iterator[list[dict]]:
    """Batches of complete orders from bulk JSONL lines (children after their parent).

    A batch is yielded when the next order starts, so children anywhere after their parent
    within the open batch are placed; a child of an order already handed out (ungrouped
    output) or of no order at all is a PlatformError, never a silent loss."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    pending: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            node = loads_exact(raw)
        except ValueError:
            raise PlatformError(f"shopify bulk result line {number} is not valid JSON") from None
        if type(node) is not dict or not isinstance(node.get("id"), str):
            raise PlatformError(f"shopify bulk result line {number} is not an object with an id")
        parent_id = node.pop("__parentId", None)
        if parent_id is None:
            if len(pending) >= batch_size:
                yield list(pending.values())
                pending = {}
            pending[node["id"]] = _new_order(node)
            continue
        parent = pending.get(parent_id)
        if parent is None:
            raise PlatformError(
                f"shopify bulk result line {number}: child of {parent_id}, which is not in the "
                "open batch (output not grouped by parent?)",
                details={"line": number, "parentId": parent_id},
            )
        kind = node["id"].removeprefix("gid://shopify/").partition("/")[0]
        connection = _CHILD_CONNECTIONS.get(kind)
        if connection is None:
            raise PlatformError(f"shopify bulk result line {number}: unexpected child {kind!r}")
        parent[connection]["nodes"].append(node)
    if pending:
        yield list(pending.values())


def _byte_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines of a byte stream (a line may span chunks; the last may lack its newline)."""
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


class _BulkMixin:
    """Bulk operation methods of ShopifyConnector (uses its _graphql, http and clocks)."""

    def order_created_bounds(self, filter: OrderFilter) -> tuple[datetime, datetime] | None:
        """(first, last) createdAt of the orders `filter` matches; None when none match."""
        bounds = []
        for reverse in (False, True):
            data = self._graphql(  # type: ignore[attr-defined]
                ORDER_CREATED_BOUND_QUERY,
                {"query": filter.to_search_query(), "reverse": reverse})
            nodes = get_path(data, "orders.nodes") or []
            if not nodes:
                return None
            bounds.append(datetime.fromisoformat(str(nodes[0]["createdAt"]).replace("Z",
                                                                                    "+00:00")))
        return bounds[0], bounds[1]

    def start_bulk_orders(self, filter: OrderFilter) -> str:
        """Start a bulk query over the orders matching `filter`; returns the operation id.

        Refused (PlatformError) while another bulk query of this app runs on the shop."""
        grouped = _groups_objects(self.api_version)  # type: ignore[attr-defined]
        mutation = (
            BULK_OPERATION_RUN_QUERY_GROUPED_MUTATION if grouped
            else BULK_OPERATION_RUN_QUERY_MUTATION
        )  # fmt: skip
        # Not re-sent after an ambiguous failure: a second start would be refused anyway.
        data = self._graphql(  # type: ignore[attr-defined]
            mutation, {"query": bulk_orders_query(filter)}, mutation=True, idempotent=False
        )
        payload = data.get("bulkOperationRunQuery")
        if not isinstance(payload, dict):
            raise PlatformError("shopify returned no bulkOperationRunQuery payload")
        errors = payload.get("userErrors") or []
        if errors:
            message = "; ".join(str(e.get("message")) for e in errors)
            codes = sorted({str(e.get("code")) for e in errors if e.get("code")})
            raise PlatformError(
                f"shopify refused the bulk query: {message}",
                details={"codes": codes, "userErrors": errors},
            )
        operation_id = get_path(payload, "bulkOperation.id")
        if not isinstance(operation_id, str):
            raise PlatformError("shopify started no bulk operation")
        log.info("shopify bulk operation %s started", operation_id)
        return operation_id

    def poll_bulk(
        self, operation_id: str, *, interval: float = 2.0, timeout: float = 4 * 3600.0
    ) -> dict[str, Any]:
        """Wait until the operation is COMPLETED and return it (status, objectCount, url...).

        FAILED, CANCELED or EXPIRED raise PlatformError (errorCode in details); still running
        after `timeout` seconds raises PlatformUnavailable (retryable: poll again)."""
        sleep = getattr(self, "_sleep", time.sleep)
        clock = getattr(self, "_clock", time.monotonic)
        deadline = clock() + timeout
        while True:
            data = self._graphql(BULK_OPERATION_QUERY, {"id": operation_id})  # type: ignore[attr-defined]
            operation = data.get("node")
            if not isinstance(operation, dict) or "status" not in operation:
                raise PlatformError(f"shopify has no bulk operation {operation_id}")
            status = operation["status"]
            if status == "COMPLETED":
                return operation
            details = {
                "operationId": operation_id,
                "status": status,
                "errorCode": operation.get("errorCode"),
                "objectCount": operation.get("objectCount"),
                "partialData": operation.get("partialDataUrl") is not None,
            }
            if status in FAILED_STATUSES:
                reason = operation.get("errorCode") or status
                raise PlatformError(
                    f"shopify bulk operation {operation_id} {status.lower()}: {reason}",
                    details=details,
                )
            if clock() + interval > deadline:
                raise PlatformUnavailable(
                    f"shopify bulk operation {operation_id} still {status} after {timeout:.0f}s",
                    details=details,
                )
            sleep(interval)

    def iter_bulk_orders(self, url: str, batch_size: int = 500) -> Iterator[list[dict]]:
        """Stream a bulk result file: batches of complete orders in ORDERS_QUERY's shape.

        The file is read in 64 KiB chunks, never whole. An expired or refused URL is a
        PlatformError (start a new bulk operation); 5xx and broken connections are
        PlatformUnavailable (retryable)."""
        yield from regroup_orders(_byte_lines(self._bulk_chunks(url)), batch_size)

    def download_bulk(self, url: str, path: str) -> int:
        """Save a bulk result file to `path` as it streams (flat memory); returns its bytes.
        Errors as iter_bulk_orders."""
        written = 0
        with open(path, "wb") as out:
            for chunk in self._bulk_chunks(url):
                out.write(chunk)
                written += len(chunk)
        return written

    def _bulk_chunks(self, url: str) -> Iterator[bytes]:
        allow_insecure = getattr(self.http, "_allow_insecure", False)  # type: ignore[attr-defined]
        target = check_url_security(url, allow_insecure_http=allow_insecure)
        where = f"{target.host}{target.path}"  # the query string is the credential
        total = get_settings().http_timeout_seconds
        client = httpx.Client(
            transport=getattr(self, "_transport", None),
            timeout=httpx.Timeout(total, connect=min(10.0, total)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        try:
            with client.stream("GET", target) as response:
                status = response.status_code
                if status != 200:
                    details = {"status": status, "url": where}
                    if status >= 500:
                        raise PlatformUnavailable(
                            f"shopify bulk result download failed ({status}) at {where}",
                            details=details,
                        )
                    raise PlatformError(
                        f"shopify bulk result URL refused the download ({status}): it has "
                        "expired (results are kept seven days) or is not valid; start a new "
                        "bulk operation",
                        details=details,
                    )
                yield from response.iter_bytes(DOWNLOAD_CHUNK)
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(
                f"shopify bulk result download broke off at {where}: {type(exc).__name__}",
                details={"url": where},
            ) from None
        finally:
            client.close()

    def bulk_orders(
        self,
        filter: OrderFilter,
        batch_size: int = 500,
        *,
        interval: float = 2.0,
        timeout: float = 4 * 3600.0,
    ) -> Iterator[list[dict]]:
        """Start, wait for and stream a bulk query: batches of complete orders."""
        operation_id = self.start_bulk_orders(filter)
        operation = self.poll_bulk(operation_id, interval=interval, timeout=timeout)
        url = operation.get("url")
        if url is None:  # Shopify gives no file when nothing matched
            return
        yield from self.iter_bulk_orders(url, batch_size)
