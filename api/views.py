"""How ledger rows are shown in API answers: camelCase, money as exact decimal strings
beside integer minor units, never a credential."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from api.envelope import ExactNumber
from bigledger.money import format_minor
from bigledger.secrets import mask_credentials
from ledger.integrations import IntegrationRecord

ORDER_COUNTERS = ("ordersProcessed", "ordersCreated", "ordersUpdated", "ordersFailed")
PAYMENT_COUNTERS = ("paymentsProcessed", "paymentsCreated", "paymentsUpdated", "paymentsFailed",
                    "refundsProcessed", "chargebacksProcessed", "payoutsProcessed",
                    "feesRecorded")
SETTLEMENT_COUNTERS = ("reportsProcessed", "settlementsProcessed", "settlementsCreated",
                       "settlementsUpdated", "settlementsPosted", "settlementsFlagged")
PRODUCT_COUNTERS = ("productsProcessed", "productsCreated", "productsUpdated", "productsFailed",
                    "productsDeleted", "inventoryUpdated")


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 with a Z for UTC datetimes."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def integration_view(record: IntegrationRecord, extra: dict[str, Any] | None = None) -> dict:
    """An integration with masked credentials."""
    return {
        "id": record.id, "integrationId": record.id, "platform": record.platform,
        "name": record.name, "status": record.status, "settings": record.settings,
        "mapping": record.mapping, "credentials": mask_credentials(record.credentials()),
        "createdAt": iso(record.created_at), "updatedAt": iso(record.updated_at),
        **(extra or {}),
    }


def estimate_completion(started: datetime | None, to_process: int | None,
                        rate_per_second: float = 500.0, pickup_seconds: int = 15) -> str | None:
    """A rough finish time: worker pick-up plus the records at a conservative rate."""
    if started is None:
        return None
    seconds = pickup_seconds + int((to_process or 0) / rate_per_second)
    return iso(started + timedelta(seconds=seconds))


def sync_view(run: dict[str, Any]) -> dict[str, Any]:
    """A sync run in the spec's shape (counters at the top level)."""
    counters = dict(run.get("counters") or {})
    started = run.get("started_at") or run.get("created_at")
    view: dict[str, Any] = {
        "syncId": run["id"], "integrationId": run["integration_id"],
        "operation": run["operation"], "status": run["status"],
    }
    if run["operation"].endswith("sync_orders"):
        view["ordersToProcess"] = run.get("records_to_process")
        for name in ORDER_COUNTERS:
            view[name] = int(counters.get(name, 0))
    if run["operation"].endswith(("sync_customers", "migrate_customers")):
        for name in ("customersProcessed", "customersCreated", "customersUpdated",
                     "customersFailed"):
            view[name] = int(counters.get(name, 0))
    if run["operation"].endswith("sync_products"):
        view["productsToProcess"] = run.get("records_to_process")
        for name in PRODUCT_COUNTERS:
            view[name] = int(counters.get(name, 0))
    if run["operation"] == "inventory.fan_out":
        for name in ("channelsUpdated", "channelsFailed", "inventoryUpdated",
                     "inventoryFailed"):
            view[name] = int(counters.get(name, 0))
        result = run.get("result")
        # {channels, unrouted}; syncs recorded before unrouted locations were kept: a list
        view["channels"] = result.get("channels") if isinstance(result, dict) else result
        view["unroutedLocations"] = (result.get("unrouted", []) if isinstance(result, dict)
                                     else [])
    if run["operation"].endswith("update_inventory"):
        view["itemsToProcess"] = run.get("records_to_process")
        view["inventoryUpdated"] = int(counters.get("inventoryUpdated", 0))
        view["inventoryFailed"] = int(counters.get("inventoryFailed", 0))
        view["results"] = run.get("result")
    if run["operation"] in ("stripe.sync_payments", "paypal.sync_transactions"):
        for name in PAYMENT_COUNTERS:
            view[name] = int(counters.get(name, 0))
        view.update(payment_totals(counters))
    if run["operation"].endswith("export_coa"):
        result = run.get("result") or {}
        view["accountsProcessed"] = int(counters.get("accountsProcessed", 0))
        view["accountsCreated"] = int(counters.get("accountsCreated", 0))
        view["accounts"] = result.get("accounts")
        view["needsDecision"] = [a for a in result.get("accounts") or []
                                 if a.get("needsDecision")]
    if run["operation"].endswith(("migrate_transactions", "full_migration")):
        for name in ("transactionsProcessed", "transactionsCreated", "transactionsUpdated",
                     "transactionsFailed", "journalEntriesPosted"):
            view[name] = int(counters.get(name, 0))
        view["trialBalance"] = (run.get("result") or {}).get("trialBalance")
        view["dryRun"] = (run.get("result") or {}).get("dryRun")
    if run["operation"] == "amazon.sync_fees":
        for name in SETTLEMENT_COUNTERS:
            view[name] = int(counters.get(name, 0))
        view["settlements"] = run.get("result")
    view.update({
        "startedAt": iso(started), "finishedAt": iso(run.get("finished_at")),
        "estimatedCompletion": None if run.get("finished_at") else estimate_completion(
            started, run.get("records_to_process")),
        "flowRunId": run.get("flow_run_id"), "counters": counters,
        "parameters": run.get("parameters") or {},
        "error": ({"code": run["error_code"], "message": run.get("error_message")}
                  if run.get("error_code") else None),
    })
    return view


def payment_totals(counters: dict[str, Any]) -> dict[str, Any]:
    """totalAmount (gross of the payments) and totalFees as exact JSON numbers when the sync
    saw one currency (null when several: see `totals`, one row per currency)."""
    per_currency: dict[str, dict[str, int]] = {}
    for key, value in counters.items():
        name, _, currency = key.partition(":")
        if currency and name in ("chargesGrossMinor", "feesMinor"):
            per_currency.setdefault(currency, {"chargesGrossMinor": 0, "feesMinor": 0})
            per_currency[currency][name] = int(value)
    totals = [
        {"currency": cur, "totalAmount": ExactNumber(format_minor(v["chargesGrossMinor"], cur)),
         "totalFees": ExactNumber(format_minor(v["feesMinor"], cur)),
         "totalAmountMinor": v["chargesGrossMinor"], "totalFeesMinor": v["feesMinor"]}
        for cur, v in sorted(per_currency.items())
    ]
    if len(totals) > 1:
        return {"totalAmount": None, "totalFees": None, "currency": None, "totals": totals}
    if not totals:
        return {"totalAmount": ExactNumber("0"), "totalFees": ExactNumber("0"),
                "currency": None, "totals": []}
    return {"totalAmount": totals[0]["totalAmount"], "totalFees": totals[0]["totalFees"],
            "currency": totals[0]["currency"], "totals": totals}


def money(minor: int, currency: str) -> dict[str, Any]:
    """An amount as both an exact decimal string and integer minor units."""
    return {"amount": format_minor(int(minor), currency), "minor": int(minor)}


def journal_entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    cur = entry["currency"]
    return {
        "id": entry["id"], "integrationId": entry["integration_id"],
        "sourceType": entry["source_type"], "sourceId": entry["source_id"],
        "sequence": entry["sequence"], "kind": entry["kind"], "date": iso(entry["entry_date"]),
        "currency": cur, "memo": entry["memo"], "postedAt": iso(entry["posted_at"]),
        "lines": [
            {"lineNo": ln["line_no"], "accountId": ln["account_id"],
             "debit": format_minor(ln["debit_minor"], cur),
             "credit": format_minor(ln["credit_minor"], cur),
             "debitMinor": ln["debit_minor"], "creditMinor": ln["credit_minor"],
             "memo": ln["memo"]}
            for ln in entry["lines"]
        ],
    }


def sales_order_view(order: dict[str, Any]) -> dict[str, Any]:
    cur = order["currency"]
    fields = ("subtotal", "discount", "shipping", "tax", "total", "refunded", "outstanding")
    return {
        "id": order["id"], "integrationId": order["integration_id"],
        "sourceId": order["external_id"], "orderNumber": order["order_number"],
        "customerId": order["customer_id"], "orderDate": iso(order["order_date"]),
        "currency": cur, "financialStatus": order["financial_status"],
        "fulfillmentStatus": order["fulfillment_status"], "status": order["status"],
        "taxesIncluded": order["taxes_included"],
        **{name: format_minor(order[f"{name}_minor"], cur) for name in fields},
        "lines": [
            {"lineNo": ln["line_no"], "sku": ln["sku"], "name": ln["name"],
             "quantity": ln["quantity"],
             "unitPrice": format_minor(ln["unit_price_minor"], cur),
             "discount": format_minor(ln["discount_minor"], cur),
             "tax": format_minor(ln["tax_minor"], cur),
             "total": format_minor(ln["total_minor"], cur)}
            for ln in order["lines"]
        ],
    }
