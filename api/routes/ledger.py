"""/v1/ledger: read-only views so a user can see what a sync did."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query

from api.envelope import ok
from api.views import iso, journal_entry_view, money, sales_order_view
from ledger.db import transaction
from ledger.reports import list_journal_entries, list_sales_orders, trial_balance

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])


@router.get("/trial-balance", summary="Trial balance per account and currency")
def get_trial_balance(
    as_of: date | None = Query(None, alias="asOf"),
    integration_id: str | None = Query(None, alias="integrationId", max_length=64),
) -> dict[str, Any]:
    with transaction() as conn:
        tb = trial_balance(conn, as_of=as_of, integration_id=integration_id)
    return ok({
        "asOf": iso(as_of),
        "balanced": tb["balanced"],
        "accounts": [
            {"accountId": a["account_id"], "code": a["code"], "name": a["name"],
             "type": a["type"], "currency": a["currency"],
             "debit": money(a["debit_minor"], a["currency"]),
             "credit": money(a["credit_minor"], a["currency"]),
             "balance": money(a["balance_minor"], a["currency"])}
            for a in tb["accounts"]
        ],
        "totals": {
            cur: {"debit": money(t["debit_minor"], cur), "credit": money(t["credit_minor"], cur),
                  "difference": money(t["difference_minor"], cur)}
            for cur, t in tb["totals"].items()
        },
    })


def _page(items: list, total: int, page: int, page_size: int) -> dict[str, Any]:
    return {"items": items, "page": page, "pageSize": page_size, "total": total,
            "hasMore": page * page_size < total}


@router.get("/journal-entries", summary="Journal entries, filtered and paged")
def get_journal_entries(
    integration_id: str | None = Query(None, alias="integrationId", max_length=64),
    source_id: str | None = Query(None, alias="sourceId", max_length=128),
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(50, alias="pageSize", ge=1, le=500),
) -> dict[str, Any]:
    with transaction() as conn:
        entries, total = list_journal_entries(
            conn, integration_id=integration_id, source_id=source_id,
            limit=page_size, offset=(page - 1) * page_size)
    return ok(_page([journal_entry_view(e) for e in entries], total, page, page_size))


@router.get("/sales-orders", summary="Sales orders, filtered and paged")
def get_sales_orders(
    integration_id: str | None = Query(None, alias="integrationId", max_length=64),
    source_id: str | None = Query(None, alias="sourceId", max_length=128),
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(50, alias="pageSize", ge=1, le=500),
) -> dict[str, Any]:
    with transaction() as conn:
        orders, total = list_sales_orders(
            conn, integration_id=integration_id, source_id=source_id,
            limit=page_size, offset=(page - 1) * page_size)
    return ok(_page([sales_order_view(o) for o in orders], total, page, page_size))
