"""The generated QuickBooks company is a consistent book: its Trial Balance report balances
and equals postings this test computes itself from the records the API serves (as of any
date, across a fiscal year end), customer and vendor balances agree with open documents,
voided and deleted transactions look as QuickBooks shows them, and the data is
deterministic."""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from bigledger.money import loads_exact
from sandbox.quickbooks import QuickBooksSandbox, QuickBooksSandboxConfig, create_app
from sandbox.quickbooks.app import render
from sandbox.quickbooks.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REALM_ID,
    DEFAULT_REFRESH_TOKEN,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PNL = {"Income", "Cost of Goods Sold", "Expense", "Other Income", "Other Expense"}


class Books:
    """A company read through the API: every list and transaction, and its reports."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("now", datetime(2025, 6, 1, tzinfo=UTC))
        config.setdefault("throttling", False)
        self.app = create_app(QuickBooksSandboxConfig(**config))
        self.client = TestClient(self.app, base_url="https://sandbox-quickbooks.api.intuit.com")
        token = self.client.post("/oauth2/v1/tokens/bearer", data={
            "grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN},
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)).json()["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.home = self.app.state.sandbox.config.home_currency
        self.records = {name: self.all(name) for name in (
            "Account", "Item", "TaxRate", "TaxAgency", "Customer", "Vendor", "Invoice",
            "Payment", "SalesReceipt", "CreditMemo", "RefundReceipt", "Bill", "BillPayment",
            "Purchase", "VendorCredit", "Deposit", "Transfer", "JournalEntry")}

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(f"/v3/company/{DEFAULT_REALM_ID}{path}",
                                   params={**params, "minorversion": 75}, headers=self.headers)
        assert response.status_code == 200, response.text
        return loads_exact(response.content)

    def all(self, entity: str) -> list[dict[str, Any]]:
        out, position = [], 1
        where = " WHERE Active IN (true, false)" if entity in ("Account", "Customer") else ""
        while True:
            body = self.get("/query", query=f"SELECT * FROM {entity}{where} STARTPOSITION "
                            f"{position} MAXRESULTS 1000")["QueryResponse"]
            rows = body.get(entity, [])
            out.extend(rows)
            if len(rows) < 1000:
                return out
            position += 1000

    def trial_balance(self, start: str, end: str) -> dict[str, Decimal]:
        report = self.get("/reports/TrialBalance", start_date=start, end_date=end,
                          accounting_method="Accrual")
        rows = report["Rows"]["Row"]
        out: dict[str, Decimal] = {}
        debit = credit = Decimal(0)
        for row in rows[:-1]:
            cells = row["ColData"]
            d = Decimal(cells[1]["value"] or 0)
            c = Decimal(cells[2]["value"] or 0)
            assert (d > 0) != (c > 0), row  # one side only, never zero rows
            out[cells[0]["id"]] = d - c
            debit, credit = debit + d, credit + c
        total = rows[-1]["Summary"]["ColData"]
        assert Decimal(total[1]["value"]) == debit == Decimal(total[2]["value"]) == credit
        return out


def posted(books: Books, end: date) -> list[tuple[date, str, Decimal]]:
    """(day, account id, net debit) of every live transaction up to `end`, computed here
    from the API's records by QuickBooks' posting rules (not the sandbox's own code)."""
    r = books.records
    home = books.home
    q = Decimal(1).scaleb(-(0 if home == "JPY" else 3 if home == "KWD" else 2))
    accounts = {a["Id"]: a for a in r["Account"]}
    items = {i["Id"]: i for i in r["Item"]}
    by_name = {a["Name"]: a["Id"] for a in r["Account"]}
    agency = {g["Id"]: g["DisplayName"] for g in r["TaxAgency"]}
    tax_account = {t["Id"]: by_name[f"{agency[t['AgencyRef']['value']]} Payable"]
                   for t in r["TaxRate"]}
    ar = {(a.get("CurrencyRef") or {}).get("value", home): a["Id"] for a in r["Account"]
          if a["AccountType"] == "Accounts Receivable"}
    undeposited = next(a["Id"] for a in r["Account"] if a.get("AccountSubType") ==
                       "UndepositedFunds")
    fx = next(a["Id"] for a in r["Account"] if a.get("AccountSubType") == "ExchangeGainOrLoss")
    invoices = {i["Id"]: i for i in r["Invoice"]}
    out: list[tuple[date, str, Decimal]] = []

    def conv(amount: Decimal, rate: Decimal) -> Decimal:
        return (Decimal(amount) * rate).quantize(q, ROUND_HALF_UP)

    for entity, rows in r.items():
        for t in rows if entity not in ("Account", "Item", "TaxRate", "TaxAgency", "Customer",
                                        "Vendor") else ():
            day = date.fromisoformat(t["TxnDate"])
            if day > end:
                continue
            net: dict[str, Decimal] = defaultdict(Decimal)
            rate = t.get("ExchangeRate", Decimal(1))
            currency = t["CurrencyRef"]["value"]
            if entity in ("Invoice", "SalesReceipt", "CreditMemo", "RefundReceipt"):
                d = 1 if entity in ("Invoice", "SalesReceipt") else -1
                settle = ar[currency] if entity in ("Invoice", "CreditMemo") else t[
                    "DepositToAccountRef"]["value"]
                for line in t["Line"]:
                    if line["DetailType"] == "SalesItemLineDetail":
                        detail = line["SalesItemLineDetail"]
                        item = items[detail["ItemRef"]["value"]]
                        net[item["IncomeAccountRef"]["value"]] -= d * conv(line["Amount"], rate)
                        if item["Type"] == "Inventory":
                            cost = Decimal(detail["Qty"] * item["PurchaseCost"]).quantize(q)
                            net[item["ExpenseAccountRef"]["value"]] += d * cost
                            net[item["AssetAccountRef"]["value"]] -= d * cost
                    elif line["DetailType"] == "DiscountLineDetail":
                        account = line["DiscountLineDetail"]["DiscountAccountRef"]["value"]
                        net[account] += d * conv(line["Amount"], rate)
                for line in t["TxnTaxDetail"].get("TaxLine", []):
                    rate_id = line["TaxLineDetail"]["TaxRateRef"]["value"]
                    net[tax_account[rate_id]] -= d * conv(line["Amount"], rate)
                net[settle] += d * t.get("HomeTotalAmt", t["TotalAmt"])
            elif entity == "Payment":
                deposit = t["DepositToAccountRef"]["value"]
                net[deposit] += conv(t["TotalAmt"], rate)
                relief = conv(t["UnappliedAmt"], rate)
                for line in t["Line"]:
                    link = line["LinkedTxn"][0]
                    if currency == home:
                        relief += line["Amount"] * (1 if link["TxnType"] == "Invoice" else -1)
                    else:
                        invoice = invoices[link["TxnId"]]
                        assert line["Amount"] == invoice["TotalAmt"]  # paid in full
                        relief += invoice["HomeTotalAmt"]
                net[t["ARAccountRef"]["value"]] -= relief
            elif entity in ("Bill", "VendorCredit", "Purchase"):
                sign = 1 if entity == "Bill" or (entity == "Purchase" and not t["Credit"]) else -1
                settle = t["AccountRef"]["value"] if entity == "Purchase" else t[
                    "APAccountRef"]["value"]
                for line in t["Line"]:
                    if "AccountBasedExpenseLineDetail" in line:
                        target = line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"]
                    else:
                        item = items[line["ItemBasedExpenseLineDetail"]["ItemRef"]["value"]]
                        key = "AssetAccountRef" if item["Type"] == "Inventory" else (
                            "ExpenseAccountRef")
                        target = item[key]["value"]
                    net[target] += sign * line["Amount"]
                net[settle] -= sign * t["TotalAmt"]
            elif entity == "BillPayment":
                source = (t.get("CheckPayment", {}).get("BankAccountRef")
                          or t.get("CreditCardPayment", {}).get("CCAccountRef"))["value"]
                net[t["APAccountRef"]["value"]] += t["TotalAmt"]
                net[source] -= t["TotalAmt"]
            elif entity == "Deposit":
                net[t["DepositToAccountRef"]["value"]] += t["TotalAmt"]
                for line in t["Line"]:
                    target = undeposited if "LinkedTxn" in line else line[
                        "DepositLineDetail"]["AccountRef"]["value"]
                    net[target] -= line["Amount"]
            elif entity == "Transfer":
                net[t["ToAccountRef"]["value"]] += t["Amount"]
                net[t["FromAccountRef"]["value"]] -= t["Amount"]
            elif entity == "JournalEntry":
                for line in t["Line"]:
                    detail = line["JournalEntryLineDetail"]
                    sign = 1 if detail["PostingType"] == "Debit" else -1
                    net[detail["AccountRef"]["value"]] += sign * line["Amount"]
            residue = sum(net.values())
            if residue:
                assert currency != home, (entity, t["Id"], residue)
                net[fx] -= residue
            assert all(a in accounts for a in net)
            out.extend((day, account, amount) for account, amount in net.items() if amount)
    return out


def expected(books: Books, start: date, end: date, pnl_from: date) -> dict[str, Decimal]:
    accounts = {a["Id"]: a for a in books.records["Account"]}
    retained = next(a["Id"] for a in accounts.values()
                    if a.get("AccountSubType") == "RetainedEarnings")
    out: dict[str, Decimal] = defaultdict(Decimal)
    for day, account, amount in posted(books, end):
        if day < pnl_from and accounts[account]["AccountType"] in PNL:
            account = retained
        out[account] += amount
    return {k: v for k, v in out.items() if v}


@pytest.fixture(scope="module")
def books() -> Books:
    return Books(seed=7, size=700, days=200)


@pytest.mark.parametrize("end", ["2024-01-01", "2024-02-15", "2024-05-31", "2024-12-31"])
def test_trial_balance_equals_independent_postings_as_of_any_date(books, end):
    day = date.fromisoformat(end)
    report = books.trial_balance("2024-01-01", end)
    assert report == expected(books, date(2024, 1, 1), day, date(2024, 1, 1))
    assert sum(report.values()) == 0


def test_every_transaction_type_is_in_the_books(books):
    for entity in ("Invoice", "Payment", "SalesReceipt", "CreditMemo", "RefundReceipt", "Bill",
                   "BillPayment", "Purchase", "VendorCredit", "Deposit", "Transfer",
                   "JournalEntry"):
        assert books.records[entity], entity
    foreign = [i for i in books.records["Invoice"] if i["CurrencyRef"]["value"] != "USD"]
    assert foreign and all(i["HomeTotalAmt"] > 0 or i["TotalAmt"] == 0 for i in foreign)


def test_fiscal_year_end_closes_income_into_retained_earnings():
    across = Books(seed=3, size=400, days=420, fiscal_year_start_month=1)
    report = across.trial_balance("2025-01-01", "2025-02-28")
    want = expected(across, date(2025, 1, 1), date(2025, 2, 28), date(2025, 1, 1))
    assert report == want
    retained = next(a["Id"] for a in across.records["Account"]
                    if a.get("AccountSubType") == "RetainedEarnings")
    assert report[retained] != 0  # 2024's profit, with no transaction behind it
    period = Books(seed=3, size=400, days=420, trial_balance_pnl="report_period")
    mid = period.trial_balance("2024-06-01", "2024-09-30")
    assert mid == expected(period, date(2024, 6, 1), date(2024, 9, 30), date(2024, 6, 1))


@pytest.mark.parametrize("home", ["JPY", "KWD"])
def test_other_home_currencies_balance_to_their_minor_unit(home):
    other = Books(seed=5, size=250, home_currency=home, foreign_currencies=("USD",))
    report = other.trial_balance("2024-01-01", "2024-12-31")
    assert report == expected(other, date(2024, 1, 1), date(2024, 12, 31), date(2024, 1, 1))


def test_customer_balances_agree_with_open_documents(books):
    r = books.records
    owed: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in r["Invoice"]:
        owed[invoice["CustomerRef"]["value"]] += invoice["Balance"]
    for memo in r["CreditMemo"]:
        owed[memo["CustomerRef"]["value"]] -= memo["Balance"]
    for payment in r["Payment"]:
        owed[payment["CustomerRef"]["value"]] -= payment["UnappliedAmt"]
    assert any(c["Balance"] for c in r["Customer"])
    for customer in r["Customer"]:
        assert customer["Balance"] == owed[customer["Id"]], customer["DisplayName"]
    # Home-currency A/R on the Trial Balance is exactly what home customers owe.
    report = books.trial_balance("2024-01-01", "2025-06-01")
    ar = next(a for a in r["Account"] if a["Name"] == "Accounts Receivable (A/R)")
    home_owed = sum(c["Balance"] for c in r["Customer"] if c["CurrencyRef"]["value"] == "USD")
    assert report[ar["Id"]] == home_owed == ar["CurrentBalance"]
    eur = next(a for a in r["Account"] if a["Name"].endswith("- EUR"))
    assert eur["CurrentBalance"] == sum(c["Balance"] for c in r["Customer"]
                                        if c["CurrencyRef"]["value"] == "EUR")


def test_invoice_balances_follow_their_payments(books):
    r = books.records
    applied: dict[str, Decimal] = defaultdict(Decimal)
    for payment in r["Payment"]:
        for line in payment["Line"]:
            link = line["LinkedTxn"][0]
            if link["TxnType"] == "Invoice":
                applied[link["TxnId"]] += line["Amount"]
    for invoice in r["Invoice"]:
        assert invoice["Balance"] == invoice["TotalAmt"] - applied[invoice["Id"]]
        subtotal = sum(li["Amount"] for li in invoice["Line"]
                       if li["DetailType"] == "SalesItemLineDetail")
        discount = sum(li["Amount"] for li in invoice["Line"]
                       if li["DetailType"] == "DiscountLineDetail")
        tax = invoice["TxnTaxDetail"]["TotalTax"]
        assert invoice["TotalAmt"] == subtotal - discount + tax


def test_vendor_balances_agree_with_open_bills(books):
    r = books.records
    due: dict[str, Decimal] = defaultdict(Decimal)
    for bill in r["Bill"]:
        due[bill["VendorRef"]["value"]] += bill["Balance"]
    for credit in r["VendorCredit"]:
        due[credit["VendorRef"]["value"]] -= credit["Balance"]
    for vendor in r["Vendor"]:
        assert vendor["Balance"] == due[vendor["Id"]]
    ap = next(a for a in r["Account"] if a["AccountType"] == "Accounts Payable")
    report = books.trial_balance("2024-01-01", "2025-06-01")
    assert -report[ap["Id"]] == sum(v["Balance"] for v in r["Vendor"]) == ap["CurrentBalance"]


def test_voided_transactions_are_zeroed_and_deleted_ones_are_gone(books):
    r = books.records
    voided = [(e, t) for e in ("Invoice", "Payment", "SalesReceipt", "Purchase", "BillPayment")
              for t in r[e] if t.get("PrivateNote") == "Voided"]
    assert {e for e, _ in voided} >= {"Invoice", "Payment"}
    for _, txn in voided:
        assert txn["TotalAmt"] == 0
        assert all(line["Amount"] == 0 for line in txn["Line"])
        assert txn["SyncToken"] != "0"  # voiding is an update
    sandbox = books.app.state.sandbox
    deleted = sandbox.company.deleted
    assert deleted
    for gone in deleted:
        assert gone.id not in {t["Id"] for t in r[gone.entity]}


def test_chart_has_subaccounts_inactive_and_unusual_accounts(books):
    accounts = {a["Name"]: a for a in books.records["Account"]}
    gas = accounts["Gas and Electric"]
    assert gas["SubAccount"] is True and gas["FullyQualifiedName"] == "Utilities:Gas and Electric"
    assert gas["ParentRef"]["value"] == accounts["Utilities"]["Id"]
    assert accounts["Old Savings"]["Active"] is False
    assert accounts["Purchase Orders"]["AccountType"] == "Non-Posting"
    assert accounts["Security Deposits"]["AccountType"] == "Other Asset"
    assert accounts["Undeposited Funds"]["AccountSubType"] == "UndepositedFunds"
    assert accounts["Accounts Receivable (A/R) - EUR"]["CurrencyRef"]["value"] == "EUR"
    items = books.records["Item"]
    assert {i["Type"] for i in items} == {"Service", "NonInventory", "Inventory"}
    assert all("AssetAccountRef" in i for i in items if i["Type"] == "Inventory")


def test_account_current_balances_match_the_trial_balance(books):
    report = books.trial_balance("2024-01-01", "2024-12-31")  # the books' whole year
    for account in books.records["Account"]:
        if account["AccountType"] in PNL or account.get("CurrencyRef", {}).get("value") != "USD":
            continue
        balance = report.get(account["Id"], Decimal(0))
        natural = balance if account.get("Classification") == "Asset" else -balance
        assert account["CurrentBalance"] == natural, account["Name"]


def test_generation_is_deterministic():
    config = QuickBooksSandboxConfig(seed=11, size=150)
    one, two = QuickBooksSandbox(config).company, QuickBooksSandbox(config).company
    assert render(one.txns) == render(two.txns) and render(one.lists) == render(two.lists)
    other = QuickBooksSandbox(config.with_changes(seed=12)).company
    assert render(other.txns) != render(one.txns)
