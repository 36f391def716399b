"""Customers: one ledger customer per person, matched by platform id, then by email."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, select, update

from ledger.bulk import bulk_insert
from ledger.ids import stable_id
from ledger.models import Customer, utcnow
from ledger.syncs import RecordFailure, add_counters, record_failures, set_cursor

if TYPE_CHECKING:
    from transforms.documents import CustomerDoc


@dataclass(slots=True)
class CustomerCounts:
    """Customers a write created, changed, or found as they were."""

    created: int = 0
    updated: int = 0
    matched: int = 0


def upsert_customers(
    conn: Connection, integration_id: str, customers: Sequence[CustomerDoc]
) -> tuple[dict[str, str], CustomerCounts]:
    """Customer external id -> ledger customer id, and what was written; a customer is
    matched by platform id, then by email, so one person in many orders is one customer."""
    unique = {c.external_id: c for c in customers}
    if not unique:
        return {}, CustomerCounts()
    found: dict[str, str] = {}
    stored: dict[str, tuple] = {}
    for ext, cid, *fields in conn.execute(
        select(Customer.external_id, Customer.id, Customer.email, Customer.first_name,
               Customer.last_name, Customer.name).where(
            Customer.integration_id == integration_id,
            Customer.external_id.in_(list(unique)),
        )
    ):
        found[ext], stored[ext] = cid, tuple(fields)
    emails = {c.email.lower() for ext, c in unique.items() if ext not in found and c.email}
    by_email: dict[str, str] = {}
    if emails:
        by_email = {
            (email or "").lower(): cid
            for email, cid in conn.execute(
                select(Customer.email, Customer.id).where(
                    Customer.integration_id == integration_id, Customer.email.in_(list(emails))
                )
            )
        }
    now = utcnow()
    new_rows, updates = [], []
    for ext, c in unique.items():
        if ext in found:
            # Only a real change is written: re-loading a customer must not touch the row.
            if stored[ext] != (c.email, c.first_name, c.last_name, c.name):
                updates.append({"b_id": found[ext], "email": c.email,
                                "first_name": c.first_name, "last_name": c.last_name,
                                "name": c.name, "updated_at": now})
            continue
        email = (c.email or "").lower()
        if email and email in by_email:
            found[ext] = by_email[email]
            continue
        cid = stable_id("cus", integration_id, ext)
        found[ext] = cid
        if email:
            by_email[email] = cid
        new_rows.append({"id": cid, "integration_id": integration_id, "external_id": ext,
                         "email": c.email, "first_name": c.first_name, "last_name": c.last_name,
                         "name": c.name, "created_at": now, "updated_at": now})
    bulk_insert(conn, Customer.__table__, new_rows)
    if updates:
        conn.execute(
            update(Customer).where(Customer.id == bindparam("b_id")).values(
                email=bindparam("email"), first_name=bindparam("first_name"),
                last_name=bindparam("last_name"), name=bindparam("name"),
                updated_at=bindparam("updated_at"),
            ),
            updates,
        )
    return found, CustomerCounts(created=len(new_rows), updated=len(updates),
                                 matched=len(unique) - len(new_rows) - len(updates))


def load_customer_batch(
    conn: Connection, integration_id: str, docs: Sequence[CustomerDoc], *,
    sync_id: str | None = None, failures: Sequence[RecordFailure] = (),
    cursor: tuple[str, str] | None = None, resume_cursor: str | None = None,
) -> CustomerCounts:
    """Upsert a batch of customers with the sync's counters and cursors, in one transaction."""
    _, counts = upsert_customers(conn, integration_id, docs)
    if sync_id:
        record_failures(conn, sync_id, integration_id, list(failures))
        add_counters(conn, sync_id, {
            "customersProcessed": len(docs) + len(failures),
            "customersCreated": counts.created, "customersUpdated": counts.updated,
            "customersFailed": len(failures)}, resume_cursor=resume_cursor)
    if cursor is not None:
        set_cursor(conn, integration_id, *cursor)
    return counts
