"""A whole organisation read through XeroConnector in migration order, transformed, and
proven against Xero's own Trial Balance: to the cent, account by account. The minute limit
is tight and access tokens short-lived, so the run is paced and rotates its refresh token
several times on the way, without a single 429."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from connectors.xero import MIGRATION_ORDER
from tests.connectors.test_connector_xero import Harness
from transforms.xero_accounts import account_to_doc, ledger_account_id
from transforms.xero_contacts import contact_to_doc
from transforms.xero_reports import parse_trial_balance
from transforms.xero_transactions import build_context, transaction_to_doc

TRANSACTIONS = ("Invoices", "CreditNotes", "Overpayments", "Prepayments", "Payments",
                "BankTransactions", "ManualJournals")  # fmt: skip


@pytest.mark.parametrize("index", [0, 1])
def test_full_migration_matches_xeros_trial_balance(index):
    xero = Harness(size=120, seed=9, minute_limit=4, access_token_ttl=240,
                   refresh_grace_seconds=0)
    org = xero.sandbox.organisations[index]
    net: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    with xero.connector(tenant_id=org.tenant_id, page_size=25) as conn:
        base = conn.check_connection()["BaseCurrency"]
        records = {name: [r for page in conn.iter_resource(name) for r in page.records]
                   for name in MIGRATION_ORDER}
        context = build_context(conn.tenant_id, records["Accounts"], base)
        chart = [account_to_doc(a) for a in records["Accounts"]]
        contacts = [contact_to_doc(c, base) for c in records["Contacts"]]
        for name in TRANSACTIONS:
            for record in records[name]:
                doc = transaction_to_doc(name, record, context)
                counts[doc.status] += 1
                for account, amount in doc.journal.net_by_account().items():
                    net[account] += amount
        report = conn.trial_balance(org.end - timedelta(days=1))
    theirs = {ledger_account_id(org.tenant_id, line.account_external_id): line.net_minor
              for line in parse_trial_balance(report, base) if line.net_minor}
    assert {a: v for a, v in net.items() if v} == theirs
    assert len(chart) == len(org.accounts) and len(contacts) == len(org.contacts)
    assert counts["posted"] and counts["voided"] and counts["deleted"] and counts["draft"]
    # Paced, never refused; tokens rotated mid-run and each new one went to the callback.
    assert xero.sandbox.stats.rate_limited["minute"] == 0
    assert len(xero.tokens) >= 2
    assert conn.refresh_token == xero.tokens[-1]["refresh_token"]
    assert sum(not t.dead for t in xero.sandbox.refresh_tokens.values()) == 1
