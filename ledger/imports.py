"""Loading records imported through transform-data (`load: true`): customers and vendors,
products, orders, accounts and journal entries, each idempotently under its external id, so
the same file loaded twice changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from ledger.catalog import load_product_batch
from ledger.ids import stable_id
from ledger.orders import load_order_batch
from ledger.posting import sync_journal
from ledger.source_books import import_accounts, import_contacts

IMPORT_PLATFORM = "import"


def load_imported(conn: Connection, integration_id: str, target_format: str,
                  documents: Sequence[Any]) -> dict[str, int]:
    """Write the documents of one transform-data call; what was created and changed."""
    docs = [d.document for d in documents]
    if target_format in ("bigledger_customer", "bigledger_vendor"):
        _, counts = import_contacts(conn, integration_id, docs)
        return {"created": counts.created, "updated": counts.updated}
    if target_format == "bigledger_product":
        result = load_product_batch(conn, integration_id, docs, with_variants=True)
        return {"created": result.created, "updated": result.updated}
    if target_format == "bigledger_order":
        result = load_order_batch(conn, integration_id, "import.order", docs)
        return {"created": result.created, "updated": result.updated,
                "journalEntriesPosted": result.entries_posted}
    if target_format == "bigledger_account":
        ids = {d.external_id: stable_id("acc_imp", integration_id, d.external_id)
               for d in docs}
        counts = import_accounts(conn, integration_id, docs, ids, "IMP-")
        return {"created": counts.created, "updated": counts.updated}
    if target_format == "bigledger_journal_entry":
        posted = sync_journal(conn, integration_id, "import.journal_entry",
                              {d.external_id: d.document for d in documents})
        return {"journalEntriesPosted": posted}
    raise ValueError(f"{target_format} records cannot be loaded")
