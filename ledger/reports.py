"""Read-only views of the books: trial balance, journal entries, sales orders."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.models import Account, JournalEntry, JournalLine, SalesOrder, SalesOrderLine


def trial_balance(conn: Connection, *, as_of: date | None = None,
                  integration_id: str | None = None) -> dict[str, Any]:
    """Debits and credits per account and currency, with totals; balanced means each currency
    sums to zero."""
    stmt = (
        select(
            JournalLine.account_id, Account.code, Account.name, Account.type,
            JournalLine.currency,
            func.coalesce(func.sum(JournalLine.debit_minor), 0),
            func.coalesce(func.sum(JournalLine.credit_minor), 0),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .group_by(JournalLine.account_id, Account.code, Account.name, Account.type,
                  JournalLine.currency)
        .order_by(Account.code, JournalLine.currency)
    )
    if as_of is not None:
        stmt = stmt.where(JournalEntry.entry_date <= as_of)
    if integration_id is not None:
        stmt = stmt.where(JournalEntry.integration_id == integration_id)
    accounts = []
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"debit": 0, "credit": 0})
    for account_id, code, name, acc_type, currency, debit, credit in conn.execute(stmt):
        debit, credit = int(debit), int(credit)
        accounts.append({
            "account_id": account_id, "code": code, "name": name, "type": acc_type,
            "currency": currency, "debit_minor": debit, "credit_minor": credit,
            "balance_minor": debit - credit,
        })
        totals[currency]["debit"] += debit
        totals[currency]["credit"] += credit
    per_currency = {
        cur: {"debit_minor": t["debit"], "credit_minor": t["credit"],
              "difference_minor": t["debit"] - t["credit"]}
        for cur, t in sorted(totals.items())
    }
    return {
        "accounts": accounts,
        "totals": per_currency,
        "balanced": all(t["difference_minor"] == 0 for t in per_currency.values()),
    }


def unbalanced_entries(conn: Connection) -> list[str]:
    """Ids of journal entries whose lines do not sum to zero (should always be empty)."""
    stmt = (
        select(JournalLine.entry_id)
        .group_by(JournalLine.entry_id, JournalLine.currency)
        .having(func.sum(JournalLine.debit_minor) != func.sum(JournalLine.credit_minor))
    )
    return [r[0] for r in conn.execute(stmt)]


def list_journal_entries(
    conn: Connection, *, integration_id: str | None = None, source_id: str | None = None,
    source_type: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of journal entries with their lines, and the total count."""
    where = []
    if integration_id:
        where.append(JournalEntry.integration_id == integration_id)
    if source_id:
        where.append(JournalEntry.source_id == source_id)
    if source_type:
        where.append(JournalEntry.source_type == source_type)
    total = conn.execute(select(func.count()).select_from(JournalEntry).where(*where)).scalar_one()
    entries = [
        dict(r) for r in conn.execute(
            select(JournalEntry).where(*where)
            .order_by(JournalEntry.entry_date, JournalEntry.source_id, JournalEntry.sequence)
            .limit(limit).offset(offset)
        ).mappings()
    ]
    lines: dict[str, list[dict]] = defaultdict(list)
    if entries:
        for r in conn.execute(
            select(JournalLine).where(JournalLine.entry_id.in_([e["id"] for e in entries]))
            .order_by(JournalLine.entry_id, JournalLine.line_no)
        ).mappings():
            lines[r["entry_id"]].append(dict(r))
    for e in entries:
        e["lines"] = lines[e["id"]]
    return entries, total


def list_sales_orders(
    conn: Connection, *, integration_id: str | None = None, source_id: str | None = None,
    limit: int = 50, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of sales orders with their lines, and the total count."""
    where = []
    if integration_id:
        where.append(SalesOrder.integration_id == integration_id)
    if source_id:
        where.append(SalesOrder.external_id == source_id)
    total = conn.execute(select(func.count()).select_from(SalesOrder).where(*where)).scalar_one()
    orders = [
        dict(r) for r in conn.execute(
            select(SalesOrder).where(*where)
            .order_by(SalesOrder.order_date, SalesOrder.id).limit(limit).offset(offset)
        ).mappings()
    ]
    lines: dict[str, list[dict]] = defaultdict(list)
    if orders:
        for r in conn.execute(
            select(SalesOrderLine)
            .where(SalesOrderLine.sales_order_id.in_([o["id"] for o in orders]))
            .order_by(SalesOrderLine.sales_order_id, SalesOrderLine.line_no)
        ).mappings():
            lines[r["sales_order_id"]].append(dict(r))
    for o in orders:
        o["lines"] = lines[o["id"]]
    return orders, total


def counts(conn: Connection, integration_id: str | None = None) -> dict[str, int]:
    """Row counts of the main documents (for the demo and status)."""
    out = {}
    for name, model in (("salesOrders", SalesOrder), ("journalEntries", JournalEntry)):
        stmt = select(func.count()).select_from(model)
        if integration_id:
            stmt = stmt.where(model.integration_id == integration_id)
        out[name] = conn.execute(stmt).scalar_one()
    return out


def account_balance(conn: Connection, account_id: str, currency: str, *,
                    start: date | None = None, end: date | None = None,
                    integration_id: str | None = None) -> int:
    """Net debit (minor units) of one account in one currency from entries dated in
    [start, end]: a clearing account's balance for a period."""
    stmt = (
        select(func.coalesce(func.sum(JournalLine.debit_minor - JournalLine.credit_minor), 0))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id == account_id, JournalLine.currency == currency)
    )
    if start is not None:
        stmt = stmt.where(JournalEntry.entry_date >= start)
    if end is not None:
        stmt = stmt.where(JournalEntry.entry_date <= end)
    if integration_id is not None:
        stmt = stmt.where(JournalEntry.integration_id == integration_id)
    return int(conn.execute(stmt).scalar_one())
