"""Map: platform records to ledger documents, one batch per task run.

A record that cannot be mapped becomes a RecordFailure (with its payload, for a retry later);
the rest of the batch carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from bigledger.errors import ErrorCode, IntegrationError
from ledger.db import transaction
from ledger.mapping import validate_mapping
from ledger.syncs import RecordFailure
from tasks.connections import load_integration
from transforms.documents import PostingAccounts


@dataclass(frozen=True)
class RecordMapper:
    """How one kind of platform record is mapped."""

    object_type: str
    transform: Callable[[dict, PostingAccounts], Any]
    external_id: Callable[[dict], str]


def _shopify_order_mapper() -> RecordMapper:
    from transforms.shopify_orders import order_to_documents

    def external_id(order: dict) -> str:
        return str(order.get("legacyResourceId") or str(order.get("id", "?")).rsplit("/", 1)[-1])

    return RecordMapper("order", order_to_documents, external_id)


def _woocommerce_order_mapper() -> RecordMapper:
    from transforms.woocommerce_orders import order_to_documents

    return RecordMapper("order", order_to_documents, lambda order: str(order.get("id", "?")))


def _amazon_order_mapper() -> RecordMapper:
    from transforms.amazon_orders import order_to_documents

    return RecordMapper("order", order_to_documents,
                        lambda order: str(order.get("AmazonOrderId", "?")))


MAPPERS: dict[str, Callable[[], RecordMapper]] = {
    "shopify.order": _shopify_order_mapper,
    "woocommerce.order": _woocommerce_order_mapper,
    "amazon.order": _amazon_order_mapper,
}


@dataclass
class MappedBatch:
    """The documents of a batch and the records that failed to map."""

    documents: list[Any] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)


def map_batch(records: list[dict], mapper: RecordMapper, context: Any) -> MappedBatch:
    """Apply a mapper to records (with its context, e.g. the posting accounts), capturing
    each failure instead of stopping."""
    out = MappedBatch()
    for record in records:
        try:
            out.documents.append(mapper.transform(record, context))
        except Exception as exc:  # one bad record must not sink the batch
            code = exc.code if isinstance(exc, IntegrationError) else ErrorCode.DATA_MAPPING_ERROR
            out.failures.append(RecordFailure(
                object_type=mapper.object_type, external_id=mapper.external_id(record),
                code=str(code), message=str(exc) or type(exc).__name__,
                payload=_jsonable(record),
            ))
    return out


@task(name="map-records", cache_policy=NO_CACHE, persist_result=False)
def map_records(integration_id: str, kind: str, records: list[dict]) -> MappedBatch:
    """Map one batch of `kind` records (e.g. 'shopify.order') with the integration's mapping."""
    integration = load_integration(integration_id)
    with transaction() as conn:
        accounts = validate_mapping(conn, integration.mapping)
    return map_batch(records, MAPPERS[kind](), accounts)


def _jsonable(value: Any) -> Any:
    """Payloads are stored as JSON: Decimals become strings (exact), not floats."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@task(name="map-products", cache_policy=NO_CACHE, persist_result=False)
def map_products(records: list[dict], currency: str) -> MappedBatch:
    """Map one batch of Shopify products (prices in the shop's currency)."""
    from transforms.shopify_products import product_to_documents

    mapper = RecordMapper(
        "product", lambda product, _ctx: product_to_documents(product, currency),
        lambda product: str(product.get("legacyResourceId")
                            or str(product.get("id", "?")).rsplit("/", 1)[-1]),
    )
    return map_batch(records, mapper, None)


@task(name="map-woocommerce-records", cache_policy=NO_CACHE, persist_result=False)
def map_woocommerce(kind: str, records: list[dict], currency: str | None) -> MappedBatch:
    """Map a batch of WooCommerce products (in the store's currency) or customers."""
    if kind == "products":
        from transforms.woocommerce_products import product_to_documents

        mapper = RecordMapper("product",
                              lambda r, _ctx: product_to_documents(r, currency or ""),
                              lambda r: str(r.get("id", "?")))
    else:
        from transforms.woocommerce_customers import customer_to_document

        mapper = RecordMapper("customer", lambda r, _ctx: customer_to_document(r),
                              lambda r: str(r.get("id", "?")))
    return map_batch(records, mapper, None)


@task(name="map-shopify-customers", cache_policy=NO_CACHE, persist_result=False)
def map_shopify_customers(records: list[dict]) -> MappedBatch:
    """Map a batch of Shopify customers (keyed as the order transform keys them)."""
    from transforms.shopify_customers import customer_external_id, customer_to_document

    mapper = RecordMapper("customer", lambda r, _ctx: customer_to_document(r),
                          lambda r: _safe(customer_external_id, r))
    return map_batch(records, mapper, None)


def _safe(key: Callable[[dict], str], record: dict) -> str:
    try:
        return key(record)
    except Exception:  # the record is broken; its error names it anyway
        return str(record.get("id", "?"))
