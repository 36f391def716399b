"""The generated Xero organisations: a realistic chart and documents whose arithmetic holds,
and a Trial Balance report that balances and agrees with the postings, computed here
independently from what the API serves (the Journals endpoint and the documents)."""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bigledger.money import loads_exact
from sandbox.xero import XeroSandboxConfig, create_app
from sandbox.xero.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

API = "/api.xro/2.0"


class Org:
    """One tenant of a sandbox, read through the API."""

    def __init__(self, index: int = 0, **config: Any) -> None:
        config.setdefault("throttling", False)
        self.app = create_app(XeroSandboxConfig(**config))
        self.sandbox = self.app.state.sandbox
        self.client = TestClient(self.app)
        token = self.client.post("/connect/token", auth=(DEFAULT_CLIENT_ID,
                                                         DEFAULT_CLIENT_SECRET),
                                 data={"grant_type": "refresh_token",
                                       "refresh_token": DEFAULT_REFRESH_TOKEN}).json()
        self.org = self.sandbox.organisations[index]
        self.headers = {"Authorization": f"Bearer {token['access_token']}",
                        "xero-tenant-id": self.org.tenant_id, "Accept": "application/json"}

    def get(self, path: str, **params: Any) -> Any:
        answer = self.client.get(f"{API}/{path}", params=params, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return loads_exact(answer.content)

    def all(self, resource: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.get(resource, page=page, pageSize=1000, includeArchived="true")
            out += body[resource]
            if page >= body["pagination"]["pageCount"]:
                return out
            page += 1

    def journals(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        offset = 0
        while batch := self.get("Journals", offset=offset)["Journals"]:
            out += batch
            offset = batch[-1]["JournalNumber"]
        return out

    def trial_balance(self, as_of: date) -> dict[str, tuple[Decimal, Decimal, Decimal, Decimal]]:
        report = self.get("Reports/TrialBalance", date=as_of.isoformat())["Reports"][0]
        header = [c["Value"] for c in report["Rows"][0]["Cells"]]
        assert header == ["Account", "Debit", "Credit", "YTD Debit", "YTD Credit"]
        rows: dict[str, tuple[Decimal, ...]] = {}
        for section in report["Rows"][1:]:
            for row in section["Rows"]:
                values = tuple(Decimal(c["Value"] or "0") for c in row["Cells"][1:])
                if row["RowType"] == "SummaryRow":
                    rows["TOTAL"] = values
                else:
                    ids = {a["Value"] for c in row["Cells"] for a in c["Attributes"]}
                    assert len(ids) == 1
                    rows[ids.pop()] = values
        return rows  # type: ignore[return-value]


def _day(ms_date: str) -> date:
    return datetime.fromtimestamp(int(ms_date[6:19]) / 1000, UTC).date()


@pytest.fixture(scope="module")
def nz() -> Org:
    return Org(0, seed=11, size=160)


def test_chart_is_realistic(nz):
    accounts = nz.get("Accounts")["Accounts"]
    types = {a["Type"] for a in accounts}
    assert {"BANK", "CURRENT", "FIXED", "CURRLIAB", "TERMLIAB", "EQUITY", "REVENUE",
            "OTHERINCOME", "DIRECTCOSTS", "EXPENSE", "OVERHEADS", "DEPRECIATN", "INVENTORY",
            "PREPAYMENT", "PAYG"} <= types
    systems = {a.get("SystemAccount") for a in accounts}
    assert {"DEBTORS", "CREDITORS", "GST", "RETAINEDEARNINGS", "ROUNDING"} <= systems
    assert [a["Name"] for a in accounts if a["Status"] == "ARCHIVED"] == ["Travel - International"]
    gst = next(a for a in accounts if a.get("SystemAccount") == "GST")
    assert gst["Name"] == "GST" and gst["Class"] == "LIABILITY"
    assert all(a["Class"] in ("ASSET", "LIABILITY", "EQUITY", "REVENUE", "EXPENSE")
               for a in accounts)
    rates = nz.get("TaxRates")["TaxRates"]
    assert {r["TaxType"] for r in rates} >= {"OUTPUT2", "INPUT2", "NONE", "ZERORATEDOUTPUT"}
    organisation = nz.get("Organisation")["Organisations"][0]
    assert (organisation["BaseCurrency"], organisation["FinancialYearEndMonth"]) == ("NZD", 12)


def test_documents_add_up(nz):
    invoices = nz.all("Invoices")
    statuses = Counter((i["Type"], i["Status"]) for i in invoices)
    for wanted in [("ACCREC", "PAID"), ("ACCREC", "AUTHORISED"), ("ACCREC", "VOIDED"),
                   ("ACCREC", "DELETED"), ("ACCREC", "DRAFT"), ("ACCPAY", "PAID")]:
        assert statuses[wanted], wanted
    kinds = Counter(i["LineAmountTypes"] for i in invoices)
    assert kinds["Exclusive"] and kinds["Inclusive"] and kinds["NoTax"]
    payments = {p["PaymentID"]: p for p in nz.all("Payments")}
    for invoice in invoices:
        lines = invoice["LineItems"]
        amounts = sum(line["LineAmount"] for line in lines)
        if invoice["LineAmountTypes"] == "Inclusive":
            assert invoice["Total"] == amounts
            assert invoice["SubTotal"] == amounts - invoice["TotalTax"]
        else:
            assert invoice["SubTotal"] == amounts
            assert invoice["Total"] == invoice["SubTotal"] + invoice["TotalTax"]
        if invoice["LineAmountTypes"] == "NoTax":
            assert invoice["TotalTax"] == 0
        for line in lines:
            discount = 1 - line.get("DiscountRate", 0) / Decimal(100)
            expected = (line["Quantity"] * line["UnitAmount"] * discount).quantize(
                Decimal("0.01"), rounding="ROUND_HALF_UP")
            assert line["LineAmount"] == expected
        if invoice["Status"] in ("AUTHORISED", "PAID"):
            paid = sum(payments[p["PaymentID"]]["Amount"] for p in invoice["Payments"])
            assert paid == invoice["AmountPaid"]
            assert invoice["AmountDue"] == invoice["Total"] - paid - invoice["AmountCredited"]
            assert (invoice["Status"] == "PAID") == (invoice["AmountDue"] == 0)
    credit_notes = nz.all("CreditNotes")
    allocated: dict[str, Decimal] = defaultdict(Decimal)
    for credit in credit_notes:
        for allocation in credit["Allocations"]:
            allocated[allocation["Invoice"]["InvoiceID"]] += allocation["Amount"]
    by_id = {i["InvoiceID"]: i for i in invoices}
    assert allocated
    for invoice_id, amount in allocated.items():
        assert by_id[invoice_id]["AmountCredited"] == amount


def test_contact_balances_agree_with_open_documents(nz):
    invoices = nz.all("Invoices")
    credits = nz.all("CreditNotes")
    receivable: dict[str, Decimal] = defaultdict(Decimal)
    payable: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        if invoice["Status"] in ("AUTHORISED", "PAID"):
            side = receivable if invoice["Type"] == "ACCREC" else payable
            side[invoice["Contact"]["ContactID"]] += invoice["AmountDue"]
    for credit in credits:
        if credit["Status"] in ("AUTHORISED", "PAID"):
            side = receivable if credit["Type"] == "ACCRECCREDIT" else payable
            side[credit["Contact"]["ContactID"]] -= credit["RemainingCredit"]
    contacts = nz.all("Contacts")
    assert any(c["ContactStatus"] == "ARCHIVED" for c in contacts)
    for contact in contacts:
        balances = contact["Balances"]
        assert balances["AccountsReceivable"]["Outstanding"] == receivable[contact["ContactID"]]
        assert balances["AccountsPayable"]["Outstanding"] == payable[contact["ContactID"]]
    assert sum(receivable.values()) > 0 and sum(payable.values()) > 0


def test_every_journal_balances_and_posted_documents_have_one(nz):
    journals = nz.journals()
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for journal in journals:
        lines = journal["JournalLines"]
        assert sum(line["NetAmount"] for line in lines) == 0
        for line in lines:
            assert line["GrossAmount"] == line["NetAmount"] + line["TaxAmount"]
        by_source[journal["SourceID"]].append(journal)
    receivable = next(a["AccountID"] for a in nz.get("Accounts")["Accounts"]
                      if a.get("SystemAccount") == "DEBTORS")
    for invoice in nz.all("Invoices"):
        posted = by_source.get(invoice["InvoiceID"], [])
        if invoice["Status"] in ("DRAFT", "SUBMITTED", "DELETED"):
            assert posted == []
        elif invoice["Status"] == "VOIDED":
            assert len(posted) == 2  # the posting and its reversal, the same day
            net: Counter[str] = Counter()
            for journal in posted:
                for line in journal["JournalLines"]:
                    net[line["AccountID"]] += line["NetAmount"]
            assert not +net and not -net
            assert {j["JournalDate"] for j in posted} == {invoice["Date"]}
        else:
            assert len(posted) == 1 and posted[0]["JournalDate"] == invoice["Date"]
            if invoice["Type"] == "ACCREC":
                ar = [line["NetAmount"] for line in posted[0]["JournalLines"]
                      if line["AccountID"] == receivable]
                assert ar == [invoice["Total"]]


@pytest.mark.parametrize("offset_days", [0, 31, 90, 159, 400])
def test_trial_balance_balances_and_agrees_with_the_journals(nz, offset_days):
    as_of = nz.org.start + timedelta(days=offset_days)
    expected: Counter[str] = Counter()
    month: Counter[str] = Counter()
    for journal in nz.journals():
        day = _day(journal["JournalDate"])
        if day > as_of:
            continue
        for line in journal["JournalLines"]:
            expected[line["AccountID"]] += line["NetAmount"]
            if day >= as_of.replace(day=1):
                month[line["AccountID"]] += line["NetAmount"]
    report = nz.trial_balance(as_of)
    totals = report.pop("TOTAL")
    month_dr, month_cr, ytd_dr, ytd_cr = totals
    assert ytd_dr == ytd_cr and month_dr == month_cr
    assert ytd_dr > 0
    if as_of.year == nz.org.start.year:  # one financial year: balances are plain sums
        assert {a: v[2] - v[3] for a, v in report.items() if v[2] - v[3]} == {
            a: v for a, v in expected.items() if v}
    assert {a: v[0] - v[1] for a, v in report.items() if v[0] - v[1]} == {
        a: v for a, v in month.items() if v}
    assert sum(v[2] for v in report.values()) == ytd_dr


def test_trial_balance_rolls_earlier_years_into_retained_earnings():
    org = Org(0, seed=4, size=80, start="2023-11-01T00:00:00Z", days=120)
    as_of = date(2024, 2, 27)
    year_start = date(2024, 1, 1)
    accounts = {a["AccountID"]: a for a in org.get("Accounts")["Accounts"]}
    retained = next(i for i, a in accounts.items() if a.get("SystemAccount") == "RETAINEDEARNINGS")
    expected: Counter[str] = Counter()
    for journal in org.journals():
        day = _day(journal["JournalDate"])
        if day > as_of:
            continue
        for line in journal["JournalLines"]:
            pnl = accounts[line["AccountID"]]["Class"] in ("REVENUE", "EXPENSE")
            target = retained if pnl and day < year_start else line["AccountID"]
            expected[target] += line["NetAmount"]
    report = org.trial_balance(as_of)
    report.pop("TOTAL")
    assert {a: v[2] - v[3] for a, v in report.items() if v[2] - v[3]} == {
        a: v for a, v in expected.items() if v}
    assert expected[retained] != 0


def test_same_seed_same_data_and_a_smaller_tenant_beside_it():
    one, two = Org(0, seed=21, size=40), Org(0, seed=21, size=40)
    assert one.client.get(f"{API}/Invoices", params={"page": 1}, headers=one.headers).json()[
        "Invoices"] == two.client.get(f"{API}/Invoices", params={"page": 1},
                                      headers=two.headers).json()["Invoices"]
    other = Org(0, seed=22, size=40)
    assert other.org.tenant_id != one.org.tenant_id
    second = one.sandbox.organisations[1]
    assert second.currency == "AUD"
    assert len([d for d in second.invoices if d.type == "ACCREC"]) == 20
