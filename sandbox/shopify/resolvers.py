"""Resolvers for the fields that take arguments; everything else is a plain dict lookup.

Generated orders are dicts keyed by GraphQL field names, so graphql-core's default resolver
serves them; only connections, lookups and counts need code. The sandbox itself (store,
config, stats) arrives as `info.context["sandbox"]`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.shopify.catalog import (
    QUANTITY_NAMES,
    compile_search,
    deletion_terms,
    legacy_of,
    product_terms,
    quantities,
    variant_terms,
)
from sandbox.shopify.customers import customer_terms
from sandbox.shopify.store import CursorError, decode_cursor, encode_cursor

SHOP_ID = "gid://shopify/Shop/68800000001"


def _bad_request(message: str, code: str = "BAD_REQUEST") -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _check_window(
    info: GraphQLResolveInfo, first: int | None, last: int | None, limit: int
) -> None:
    """Shopify's rules for connection page sizes."""
    if first is None and last is None:
        raise _bad_request("you must provide one of first or last")
    if first is not None and last is not None:
        raise _bad_request("providing both first and last is not supported")
    size = first if first is not None else last
    name = "first" if first is not None else "last"
    if size is not None and not 0 <= size <= limit:
        raise _bad_request(
            f"The '{name}' argument on the connection field '{info.field_name}' must be "
            f"between 0 and {limit} (got {size}).",
            "argumentLiteralsIncompatible",
        )


def _page_info(has_next: bool, has_previous: bool, cursors: list[str]) -> dict[str, Any]:
    return {
        "hasNextPage": has_next,
        "hasPreviousPage": has_previous,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }


def _connection(nodes: list[Any], cursors: list[str], has_next: bool, has_prev: bool) -> dict:
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": _page_info(has_next, has_prev, cursors),
    }


def _cursor_position(ids: list[int], cursor: str) -> int:
    """Index in `ids` of the element a list cursor points at."""
    try:
        last_id, _ = decode_cursor(cursor)
    except CursorError as exc:
        raise _bad_request(str(exc)) from exc
    pos = bisect_right(ids, last_id) - 1
    if pos < 0 or ids[pos] != last_id:
        raise _bad_request("Invalid cursor.")
    return pos


def _slice_connection(
    info: GraphQLResolveInfo,
    items: list[dict[str, Any]],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    reverse: bool,
) -> dict[str, Any]:
    """A connection over a small in-memory list sorted by legacy id (line items etc.)."""
    if info.context.get("bulk_orders") is not None:  # a bulk query reads whole lists
        cursors = [encode_cursor(n["_legacy"], n["_legacy"]) for n in items]
        return _connection(items, cursors, False, False)
    _check_window(info, first, last, info.context["sandbox"].config.max_page_size)
    ids = [item["_legacy"] for item in items]
    order = list(range(len(items)))
    if reverse:
        order.reverse()
    start, end = 0, len(order)
    # Positions in the (possibly reversed) walk that the cursors point at.
    walk_pos = {idx: n for n, idx in enumerate(order)}
    if after is not None:
        start = walk_pos[_cursor_position(ids, after)] + 1
    if before is not None:
        end = walk_pos[_cursor_position(ids, before)]
    window = order[start:end] if start < end else []
    if first is not None:
        chosen = window[:first]
        has_next, has_prev = len(window) > first, start > 0
    else:
        chosen = window[len(window) - last :] if last else []
        has_next, has_prev = end < len(order), len(window) > (last or 0)
    nodes = [items[i] for i in chosen]
    cursors = [encode_cursor(n["_legacy"], n["_legacy"]) for n in nodes]
    return _connection(nodes, cursors, has_next, has_prev)


# ---- Query ---------------------------------------------------------------------------------


def resolve_shop(_root: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    sandbox = info.context["sandbox"]
    config = sandbox.config
    zone = config.iana_timezone
    return {
        "id": SHOP_ID,
        "name": config.shop_name,
        "email": config.shop_email,
        "contactEmail": config.shop_email,
        "myshopifyDomain": config.shop_domain,
        "currencyCode": config.currency,
        "enabledPresentmentCurrencies": [config.currency],
        "ianaTimezone": zone,
        "timezoneAbbreviation": datetime.now(ZoneInfo(zone)).tzname() or "UTC",
        "taxesIncluded": sandbox.store.dataset.profile.taxes_included_percent >= 50,
        "plan": {
            "displayName": config.plan_name,
            "partnerDevelopment": False,
            "shopifyPlus": config.plan_name == "Shopify Plus",
        },
    }


def resolve_order(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002
    prefix = "gid://shopify/"
    if not id.startswith(prefix) or id.count("/") != 4:
        raise _bad_request(f"Invalid global id '{id}'", "argumentLiteralsIncompatible")
    kind, _, number = id[len(prefix) :].partition("/")
    if kind != "Order" or not number.isdigit():
        return None
    store = info.context["sandbox"].store
    index = store.index_of(int(number))
    return None if index is None else store.order(index)


def resolve_orders(
    _root: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = None,  # noqa: N803 - GraphQL argument name
    savedSearchId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    sandbox = info.context["sandbox"]
    bulk = info.context.get("bulk_orders")
    if bulk is not None:  # the bulk worker already chose (and filtered) this chunk
        cursors = [encode_cursor(o["legacyResourceId"], o["legacyResourceId"]) for o in bulk]
        return _connection(bulk, cursors, False, False)
    _check_window(info, first, last, sandbox.config.max_page_size)
    store = sandbox.store
    compiled = store.compile(query)
    _note_search(info, query, compiled.warnings)
    try:
        page = store.page(
            compiled, sortKey or "PROCESSED_AT", bool(reverse), first, after, last, before
        )
    except CursorError as exc:
        raise _bad_request(str(exc)) from exc
    nodes = [store.order(i) for i in page.indices]
    sandbox.stats.orders_served += len(nodes)
    return _connection(nodes, page.cursors, page.has_next_page, page.has_previous_page)


def resolve_orders_count(
    _root: Any,
    info: GraphQLResolveInfo,
    query: str | None = None,
    limit: int | None = 10_000,
    savedSearchId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    store = info.context["sandbox"].store
    if limit is not None and limit < 0:
        raise _bad_request("limit must be a positive number", "argumentLiteralsIncompatible")
    _note_search(info, query, store.compile(query).warnings)
    count = store.count(query)
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def _note_search(info: GraphQLResolveInfo, query: str | None, warnings: list[dict]) -> None:
    """Shopify reports ignored search terms in extensions.search rather than failing."""
    if warnings:
        info.context.setdefault("search", []).append(
            {"path": info.path.as_list(), "query": query, "warnings": warnings}
        )


# ---- Order ---------------------------------------------------------------------------------


def resolve_line_items(
    order: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool | None = False,
) -> dict[str, Any]:
    return _slice_connection(info, order["_line_items"], first, after, last, before, bool(reverse))


def resolve_shipping_lines(
    order: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool | None = False,
    includeRemovals: bool | None = False,  # noqa: N803 - no removed lines are generated
) -> dict[str, Any]:
    return _slice_connection(
        info, order["_shipping_lines"], first, after, last, before, bool(reverse)
    )


def resolve_refunds(
    order: dict[str, Any], info: GraphQLResolveInfo, first: int | None = None
) -> list[dict[str, Any]]:
    refunds = order["_refunds"]
    return refunds if first is None else refunds[: max(0, first)]


def resolve_line_item_tax_lines(
    item: dict[str, Any], info: GraphQLResolveInfo, first: int | None = None
) -> list[dict[str, Any]]:
    lines = item["taxLines"]
    return lines if first is None else lines[: max(0, first)]


# ---- catalog: products, variants, inventory, locations, deletion events -------------------


def _sorted_page(
    info: GraphQLResolveInfo,
    items: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[Any, int]],
    cursor_value: Callable[[dict[str, Any]], Any],
    from_cursor: Callable[[Any], Any],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    reverse: bool,
) -> dict[str, Any]:
    """A connection over a small list in (value, id) order; cursors carry both."""
    _check_window(info, first, last, info.context["sandbox"].config.max_page_size)

    def boundary(cursor: str) -> tuple[Any, int]:
        try:
            last_id, last_value = decode_cursor(cursor)
            return from_cursor(last_value), last_id
        except (CursorError, ValueError, TypeError) as exc:
            raise _bad_request("Invalid cursor.") from exc

    walk = sorted(items, key=key, reverse=reverse)
    if after is not None:
        b = boundary(after)
        walk = [x for x in walk if (key(x) < b if reverse else key(x) > b)]
    if before is not None:
        b = boundary(before)
        walk = [x for x in walk if (key(x) > b if reverse else key(x) < b)]
    if first is not None:
        chosen = walk[:first]
        has_next, has_prev = len(walk) > first, after is not None
    else:
        chosen = walk[len(walk) - last :] if last else []
        has_next, has_prev = before is not None, len(walk) > (last or 0)
    cursors = [encode_cursor(key(n)[1], cursor_value(n)) for n in chosen]
    return _connection(chosen, cursors, has_next, has_prev)


def _same(value: Any) -> Any:
    return value


def _epoch_of(value: Any) -> int:
    return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


# sort key -> (key of a product, cursor value, cursor value -> key value)
_PRODUCT_SORTS: dict[str, tuple[Callable[[dict], tuple[Any, int]], Callable[[dict], Any], Any]] = {
    "UPDATED_AT": (lambda p: (p["_updated"], p["_legacy"]), lambda p: p["updatedAt"], _epoch_of),
    "CREATED_AT": (lambda p: (p["_created"], p["_legacy"]), lambda p: p["createdAt"], _epoch_of),
    "TITLE": (lambda p: (p["title"], p["_legacy"]), lambda p: p["title"], str),
    "ID": (lambda p: (p["_legacy"], p["_legacy"]), lambda p: p["_legacy"], int),
}


def _catalog(info: GraphQLResolveInfo) -> Any:
    return info.context["sandbox"].catalog


def _search(info: GraphQLResolveInfo, query: str | None, terms: Any) -> Any:
    zone = info.context["sandbox"].store.timezone
    predicate, warnings = compile_search(query, zone, terms(zone))
    _note_search(info, query, warnings)
    return predicate


def resolve_product(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002
    legacy = legacy_of(id, "Product")
    return None if legacy is None else _catalog(info).products.get(legacy)


def resolve_products(
    _root: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = "ID",  # noqa: N803
    savedSearchId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    predicate = _search(info, query, product_terms)
    items = _catalog(info).product_list()
    if predicate is not None:
        items = [p for p in items if predicate(p)]
    # Sort keys without a cheap order here fall back to id order (still a total order).
    key, value, back = _PRODUCT_SORTS.get(sortKey or "ID", _PRODUCT_SORTS["ID"])
    return _sorted_page(info, items, key, value, back, first, after, last, before, bool(reverse))


def resolve_products_count(
    _root: Any,
    info: GraphQLResolveInfo,
    query: str | None = None,
    limit: int | None = 10_000,
    savedSearchId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    if limit is not None and limit < 0:
        raise _bad_request("limit must be a positive number", "argumentLiteralsIncompatible")
    predicate = _search(info, query, product_terms)
    items = _catalog(info).product_list()
    count = len(items) if predicate is None else sum(1 for p in items if predicate(p))
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def resolve_product_variants(
    _root: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = "ID",  # noqa: N803 - other keys fall back to id order
    savedSearchId: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    predicate = _search(info, query, variant_terms)
    items = _catalog(info).variants()
    if predicate is not None:
        items = [v for v in items if predicate(v)]
    return _slice_connection(info, items, first, after, last, before, bool(reverse))


def resolve_product_variants_of(
    product: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool | None = False,
) -> dict[str, Any]:
    _catalog(info)
    return _slice_connection(info, product["_variants"], first, after, last, before, bool(reverse))


def resolve_variants_count(product: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"count": len(product["_variants"]), "precision": "EXACT"}


def resolve_inventory_item(_root: Any, info: GraphQLResolveInfo, id: str) -> dict | None:  # noqa: A002
    legacy = legacy_of(id, "InventoryItem")
    return None if legacy is None else _catalog(info).items.get(legacy)


def resolve_inventory_levels(
    item: dict[str, Any],
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool | None = False,
    query: str | None = None,
) -> dict[str, Any]:
    return _slice_connection(info, item["_levels"], first, after, last, before, bool(reverse))


def resolve_inventory_level(
    item: dict[str, Any], info: GraphQLResolveInfo, locationId: str  # noqa: N803
) -> dict[str, Any] | None:
    legacy = legacy_of(locationId, "Location")
    return next((lv for lv in item["_levels"] if lv["_legacy"] == legacy), None)


def resolve_quantities(
    level: dict[str, Any], info: GraphQLResolveInfo, names: list[str]
) -> list[dict[str, Any]]:
    unknown = [n for n in names if n not in QUANTITY_NAMES]
    if unknown:
        raise _bad_request(f"Invalid quantity names: {', '.join(unknown)}.")
    return quantities(level, names)


def resolve_location(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> dict | None:  # noqa: A002
    catalog = _catalog(info)
    if id is None:
        return catalog.locations[0]
    legacy = legacy_of(id, "Location")
    return catalog.location_by_legacy.get(legacy) if legacy is not None else None


def resolve_locations(
    _root: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = "NAME",  # noqa: N803
    includeLegacy: bool | None = False,  # noqa: N803
    includeInactive: bool | None = False,  # noqa: N803
) -> dict[str, Any]:
    items = [loc for loc in _catalog(info).locations if includeInactive or loc["isActive"]]
    if sortKey == "NAME":
        key, value, back = (lambda x: (x["name"], x["_legacy"])), (lambda x: x["name"]), str
    else:
        key, value, back = (lambda x: (x["_legacy"], x["_legacy"])), (lambda x: x["_legacy"]), int
    return _sorted_page(info, items, key, value, back, first, after, last, before, bool(reverse))


def resolve_deletion_events(
    _root: Any,
    info: GraphQLResolveInfo,
    subjectTypes: list[str] | None = None,  # noqa: N803
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = "ID",  # noqa: N803 - events are created in time order: same order
) -> dict[str, Any]:
    predicate = _search(info, query, deletion_terms)
    items = _catalog(info).events
    if subjectTypes:
        items = [e for e in items if e["subjectType"] in subjectTypes]
    if predicate is not None:
        items = [e for e in items if predicate(e)]
    return _slice_connection(info, items, first, after, last, before, bool(reverse))


def resolve_adjustment_changes(
    group: dict[str, Any],
    info: GraphQLResolveInfo,
    inventoryItemIds: list[str] | None = None,  # noqa: N803
    locationIds: list[str] | None = None,  # noqa: N803
    quantityNames: list[str] | None = None,  # noqa: N803
) -> list[dict[str, Any]]:
    return [
        c for c in group["_changes"]
        if (inventoryItemIds is None or c["item"]["id"] in inventoryItemIds)
        and (locationIds is None or c["location"]["id"] in locationIds)
        and (quantityNames is None or c["name"] in quantityNames)
    ]  # fmt: skip


def _catalog_field(name: str) -> Callable[..., Any]:
    """Resolver for a catalog field that an order's line item can reach before the catalog
    was built (`lineItems { variant { inventoryItem { id } } }`): build it, then read."""

    def resolve(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        _catalog(info)
        return obj.get(name)

    return resolve


def resolve_inventory_set_quantities(
    _root: Any, info: GraphQLResolveInfo, input: dict[str, Any]  # noqa: A002
) -> dict[str, Any]:
    result = _catalog(info).set_quantities(input)
    info.context["sandbox"].webhooks.inventory_events(result)
    return result


def resolve_inventory_adjust_quantities(
    _root: Any, info: GraphQLResolveInfo, input: dict[str, Any]  # noqa: A002
) -> dict[str, Any]:
    result = _catalog(info).adjust_quantities(input)
    info.context["sandbox"].webhooks.inventory_events(result)
    return result


# ---- webhook subscriptions (sandbox/shopify/webhooks.py) -----------------------------------


def _webhooks(info: GraphQLResolveInfo) -> Any:
    return info.context["sandbox"].webhooks


def resolve_webhook_subscriptions(
    _root: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = "CREATED_AT",  # noqa: N803
    callbackUrl: str | None = None,  # noqa: N803
    format: str | None = None,  # noqa: A002
    topics: list[str] | None = None,
    query: str | None = None,
) -> dict[str, Any]:
    # Ids rise with creation, so CREATED_AT, ID and RELEVANCE are all id order.
    items = _webhooks(info).listing(callbackUrl, topics, format)
    return _sorted_page(info, items, lambda n: (n["_number"], n["_number"]),
                        lambda n: n["_number"], int, first, after, last, before,
                        bool(reverse))  # fmt: skip


def resolve_webhook_subscription(
    _root: Any, info: GraphQLResolveInfo, id: str  # noqa: A002
) -> dict[str, Any] | None:
    webhooks = _webhooks(info)
    sub = webhooks.sender.subscriptions.get(id)
    return None if sub is None else webhooks.node(sub)


def resolve_webhook_subscription_create(
    _root: Any, info: GraphQLResolveInfo, topic: str,
    webhookSubscription: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:  # fmt: skip
    sandbox = info.context["sandbox"]
    return sandbox.webhooks.create(topic, webhookSubscription, sandbox.current_api_version)


def resolve_webhook_subscription_update(
    _root: Any, info: GraphQLResolveInfo, id: str,  # noqa: A002
    webhookSubscription: dict[str, Any],  # noqa: N803
) -> dict[str, Any]:  # fmt: skip
    return _webhooks(info).update(id, webhookSubscription)


def resolve_webhook_subscription_delete(
    _root: Any, info: GraphQLResolveInfo, id: str  # noqa: A002
) -> dict[str, Any]:
    return _webhooks(info).delete(id)


# ---- bulk operations and node ----------------------------------------------------------------


def resolve_bulk_operation_run_query(
    _root: Any, info: GraphQLResolveInfo, query: str, groupObjects: bool | None = False  # noqa: N803
) -> dict[str, Any]:
    # Output is always grouped (children right after their parent), which is valid
    # for both settings of groupObjects.
    return info.context["sandbox"].bulk.submit(query, bool(groupObjects))


def resolve_current_bulk_operation(
    _root: Any, info: GraphQLResolveInfo, type: str = "QUERY"  # noqa: A002
) -> dict[str, Any] | None:
    return info.context["sandbox"].bulk.current(type)


def resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002
    prefix = "gid://shopify/"
    kind, _, number = id[len(prefix) :].partition("/")
    if not id.startswith(prefix) or not kind or not number.isdigit():
        raise _bad_request(f"Invalid global id '{id}'", "argumentLiteralsIncompatible")
    if kind == "BulkOperation":
        return info.context["sandbox"].bulk.by_id(int(number))
    if kind == "Order":
        order = resolve_order(_root, info, id)
        return None if order is None else {**order, "__typename": "Order"}
    if kind == "WebhookSubscription":
        return resolve_webhook_subscription(_root, info, id)
    return None


# ---- customers ------------------------------------------------------------------------------

_CUSTOMER_SORTS: dict[str, tuple[Callable[[dict], tuple[Any, int]], Callable[[dict], Any], Any]] = {
    "UPDATED_AT": (lambda c: (c["_updated"], c["_legacy"]), lambda c: c["updatedAt"], _epoch_of),
    "CREATED_AT": (lambda c: (c["_created"], c["_legacy"]), lambda c: c["createdAt"], _epoch_of),
    "NAME": (lambda c: (c["displayName"], c["_legacy"]), lambda c: c["displayName"], str),
    "ID": (lambda c: (c["_legacy"], c["_legacy"]), lambda c: c["_legacy"], int),
}


def _customers(info: GraphQLResolveInfo) -> Any:
    return info.context["sandbox"].customers


def resolve_customer(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:  # noqa: A002
    legacy = legacy_of(id, "Customer")
    return None if legacy is None else _customers(info).get(legacy)


def resolve_customers(
    _root: Any,
    info: GraphQLResolveInfo,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    query: str | None = None,
    reverse: bool | None = False,
    sortKey: str | None = "ID",  # noqa: N803
) -> dict[str, Any]:
    predicate = _search(info, query, customer_terms)
    items = _customers(info).customer_list()
    if predicate is not None:
        items = [c for c in items if predicate(c)]
    # LOCATION and RELEVANCE have no order here: they fall back to id order.
    key, value, back = _CUSTOMER_SORTS.get(sortKey or "ID", _CUSTOMER_SORTS["ID"])
    return _sorted_page(info, items, key, value, back, first, after, last, before, bool(reverse))


def resolve_customers_count(
    _root: Any, info: GraphQLResolveInfo, query: str | None = None, limit: int | None = 10_000
) -> dict[str, Any]:
    if limit is not None and limit < 0:
        raise _bad_request("limit must be a positive number", "argumentLiteralsIncompatible")
    predicate = _search(info, query, customer_terms)
    items = _customers(info).customer_list()
    count = len(items) if predicate is None else sum(1 for c in items if predicate(c))
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def resolve_order_customer(order: dict[str, Any], info: GraphQLResolveInfo) -> dict | None:
    """An order's buyer as the customer is now (a touched name shows on old orders too)."""
    embedded = order.get("customer")
    directory = info.context["sandbox"].customers_if_built
    return embedded if directory is None else directory.live(embedded)


def _customer_field(name: str) -> Callable[..., Any]:
    """Fields an order's embedded customer copy lacks: read them from the directory."""

    def resolve(customer: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        if name in customer:
            return customer[name]
        return _customers(info).live(customer)[name]

    return resolve


def resolve_number_of_orders(customer: dict[str, Any], info: GraphQLResolveInfo) -> str:
    return _customers(info).number_of_orders(customer)


def resolve_amount_spent(customer: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    return _customers(info).amount_spent(customer)


RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Query", "customer"): resolve_customer,
    ("Query", "customers"): resolve_customers,
    ("Query", "customersCount"): resolve_customers_count,
    ("Order", "customer"): resolve_order_customer,
    ("Customer", "numberOfOrders"): resolve_number_of_orders,
    ("Customer", "amountSpent"): resolve_amount_spent,
    **{("Customer", f): _customer_field(f) for f in ("updatedAt", "state",
                                                     "defaultEmailAddress")},
    ("Mutation", "bulkOperationRunQuery"): resolve_bulk_operation_run_query,
    ("Query", "currentBulkOperation"): resolve_current_bulk_operation,
    ("Query", "node"): resolve_node,
    ("Query", "product"): resolve_product,
    ("Query", "products"): resolve_products,
    ("Query", "productsCount"): resolve_products_count,
    ("Query", "productVariants"): resolve_product_variants,
    ("Query", "inventoryItem"): resolve_inventory_item,
    ("Query", "location"): resolve_location,
    ("Query", "locations"): resolve_locations,
    ("Query", "deletionEvents"): resolve_deletion_events,
    ("Product", "variants"): resolve_product_variants_of,
    ("Product", "variantsCount"): resolve_variants_count,
    ("InventoryItem", "inventoryLevels"): resolve_inventory_levels,
    ("InventoryItem", "inventoryLevel"): resolve_inventory_level,
    ("InventoryLevel", "quantities"): resolve_quantities,
    ("InventoryAdjustmentGroup", "changes"): resolve_adjustment_changes,
    ("Mutation", "inventorySetQuantities"): resolve_inventory_set_quantities,
    ("Mutation", "inventoryAdjustQuantities"): resolve_inventory_adjust_quantities,
    ("Query", "webhookSubscriptions"): resolve_webhook_subscriptions,
    ("Query", "webhookSubscription"): resolve_webhook_subscription,
    ("Mutation", "webhookSubscriptionCreate"): resolve_webhook_subscription_create,
    ("Mutation", "webhookSubscriptionUpdate"): resolve_webhook_subscription_update,
    ("Mutation", "webhookSubscriptionDelete"): resolve_webhook_subscription_delete,
    **{("Product", f): _catalog_field(f) for f in ("status", "createdAt", "updatedAt",
                                                    "publishedAt")},
    **{("ProductVariant", f): _catalog_field(f) for f in ("compareAtPrice", "barcode",
                                                           "position", "inventoryItem")},
    ("Query", "shop"): resolve_shop,
    ("Query", "order"): resolve_order,
    ("Query", "orders"): resolve_orders,
    ("Query", "ordersCount"): resolve_orders_count,
    ("Order", "lineItems"): resolve_line_items,
    ("Order", "shippingLines"): resolve_shipping_lines,
    ("Order", "refunds"): resolve_refunds,
    ("LineItem", "taxLines"): resolve_line_item_tax_lines,
}
