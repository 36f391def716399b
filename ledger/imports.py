"""Loading records imported through transform-data (`load: true`): customers and vendors,
products, orders, accounts and journal entries, each idempotently under its external id, so
the same file loaded twice changes nothing.

A large file is loaded batch by batch (ImportLoad.add per chunk of rows, all in the caller's
transaction), so its documents are never all in memory at once."""

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


class ImportLoad:
    """The documents of one transform-data call, written batch by batch in the caller's
    transaction; finish() writes what waited and says what was created and changed.

    Customers, vendors and products are upserted per batch (the counts add up; a record
    repeated in a later batch counts again, as updated or unchanged). Accounts wait for the
    last batch: a parent is linked only when it is imported along with its children, and it
    may come after them. Orders and journal entries arrive in one batch (the rows of one
    record may lie anywhere in the file)."""

    def __init__(self, conn: Connection, integration_id: str, target_format: str) -> None:
        if target_format not in _LOADABLE:
            raise ValueError(f"{target_format} records cannot be loaded")
        self.conn = conn
        self.integration_id = integration_id
        self.target_format = target_format
        self.counts: dict[str, int] = {}
        self._accounts: list[Any] = []

    def add(self, documents: Sequence[Any]) -> None:
        """Write (or, for accounts, keep) one batch of ImportedDocuments."""
        if self.target_format == "bigledger_account":
            self._accounts += [d.document for d in documents]
            return
        self._count(_load(self.conn, self.integration_id, self.target_format, documents))

    def finish(self) -> dict[str, int]:
        """Write what waited for the last batch; the counts of the whole load."""
        if self.target_format == "bigledger_account":
            docs, self._accounts = self._accounts, []
            ids = {d.external_id: stable_id("acc_imp", self.integration_id, d.external_id)
                   for d in docs}  # fmt: skip
            counts = import_accounts(self.conn, self.integration_id, docs, ids, "IMP-")
            self._count({"created": counts.created, "updated": counts.updated})
        return dict(self.counts or _ZERO[self.target_format])

    def _count(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value


def load_imported(conn: Connection, integration_id: str, target_format: str,
                  documents: Sequence[Any]) -> dict[str, int]:
    """Write the documents of one transform-data call; what was created and changed."""
    load = ImportLoad(conn, integration_id, target_format)
    load.add(documents)
    return load.finish()


def _load(conn: Connection, integration_id: str, target_format: str,
          documents: Sequence[Any]) -> dict[str, int]:  # fmt: skip
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
    posted = sync_journal(conn, integration_id, "import.journal_entry",
                          {d.external_id: d.document for d in documents})
    return {"journalEntriesPosted": posted}


_ZERO: dict[str, dict[str, int]] = {
    "bigledger_customer": {"created": 0, "updated": 0},
    "bigledger_vendor": {"created": 0, "updated": 0},
    "bigledger_product": {"created": 0, "updated": 0},
    "bigledger_order": {"created": 0, "updated": 0, "journalEntriesPosted": 0},
    "bigledger_account": {"created": 0, "updated": 0},
    "bigledger_journal_entry": {"journalEntriesPosted": 0},
}
_LOADABLE = frozenset(_ZERO)
