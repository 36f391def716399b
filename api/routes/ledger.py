"""/v1/ledger: read-only views so a user can see what a sync did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query

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


@dataclass
class DocumentQuery:
    """The filters and paging every document listing takes."""

    integration_id: str | None = Query(None, alias="integrationId", max_length=64)
    source_id: str | None = Query(None, alias="sourceId", max_length=128)
    page: int = Query(1, ge=1, le=1_000_000)
    page_size: int = Query(50, alias="pageSize", ge=1, le=500)

    def listing(self, lister: Callable, view: Callable) -> dict[str, Any]:
        """Run a ledger lister with these filters and wrap a page of views."""
        with transaction() as conn:
            rows, total = lister(conn, integration_id=self.integration_id,
                                 source_id=self.source_id, limit=self.page_size,
                                 offset=(self.page - 1) * self.page_size)
        return ok({"items": [view(r) for r in rows], "page": self.page,
                   "pageSize": self.page_size, "total": total,
                   "hasMore": self.page * self.page_size < total})


@router.get("/journal-entries", summary="Journal entries, filtered and paged")
def get_journal_entries(query: DocumentQuery = Depends()) -> dict[str, Any]:
    return query.listing(list_journal_entries, journal_entry_view)


@router.get("/sales-orders", summary="Sales orders, filtered and paged")
def get_sales_orders(query: DocumentQuery = Depends()) -> dict[str, Any]:
    return query.listing(list_sales_orders, sales_order_view)
