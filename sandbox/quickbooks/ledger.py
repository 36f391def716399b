"""The sandbox company's general ledger, derived from its transaction records the way
QuickBooks Online posts each type, and the Trial Balance report built from it.

Postings are in the home currency. A foreign-currency form converts each line at its
ExchangeRate (half up to the home minor unit) and carries A/R at HomeTotalAmt; the cent a
line-by-line conversion can differ from HomeTotalAmt goes to Exchange Gain or Loss. A
foreign payment relieves A/R at what the invoice put there (HomeTotalAmt, or its pro-rata
share for a part payment) and books the difference to its own deposit value
(TotalAmt × ExchangeRate) as realized Exchange Gain or Loss.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from bigledger.money import currency_exponent
from sandbox.quickbooks.data import TRANSACTION_ENTITIES, Company, half_up

# Trial Balance order of account types (QuickBooks lists balance sheet first).
TYPE_ORDER = ("Bank", "Accounts Receivable", "Other Current Asset", "Fixed Asset",
              "Other Asset", "Accounts Payable", "Credit Card", "Other Current Liability",
              "Long Term Liability", "Equity", "Income", "Cost of Goods Sold", "Expense",
              "Other Income", "Other Expense")  # fmt: skip
PNL_TYPES = frozenset({"Income", "Cost of Goods Sold", "Expense", "Other Income",
                       "Other Expense"})  # fmt: skip
SALES_FORMS = {"Invoice": 1, "SalesReceipt": 1, "CreditMemo": -1, "RefundReceipt": -1}
PURCHASE_FORMS = {"Bill": 1, "VendorCredit": -1}


@dataclass(frozen=True, slots=True)
class Posting:
    """One account's net debit (+) or credit (−) from one transaction, home currency."""

    day: date
    account_id: str
    amount: Decimal
    entity: str
    txn_id: str


class GeneralLedger:
    """Every posting of the company's live transactions, and balances from them."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.accounts = {a["Id"]: a for a in company.lists["Account"]}
        self.postings: list[Posting] = []
        invoices = {i["Id"]: i for i in company.txns["Invoice"]}
        memos = {m["Id"]: m for m in company.txns["CreditMemo"]}
        self._linked = {"Invoice": invoices, "CreditMemo": memos}
        for entity in TRANSACTION_ENTITIES:
            for record in company.txns[entity]:
                self.postings.extend(self._post(entity, record))

    # ---- posting rules -------------------------------------------------------------------

    def _post(self, entity: str, txn: dict[str, Any]) -> Iterator[Posting]:
        net: dict[str, Decimal] = defaultdict(Decimal)
        if entity in SALES_FORMS:
            self._sales(entity, txn, net)
        elif entity in PURCHASE_FORMS:
            self._purchase_form(txn, net, PURCHASE_FORMS[entity], txn["APAccountRef"]["value"])
        elif entity == "Purchase":
            sign = -1 if txn.get("Credit") else 1
            self._purchase_form(txn, net, sign, txn["AccountRef"]["value"])
        elif entity == "Payment":
            self._payment(txn, net)
        elif entity == "BillPayment":
            paid_from = (txn.get("CheckPayment") or txn.get("CreditCardPayment") or {})
            source = (paid_from.get("BankAccountRef") or paid_from.get("CCAccountRef"))["value"]
            net[txn["APAccountRef"]["value"]] += txn["TotalAmt"]
            net[source] -= txn["TotalAmt"]
        elif entity == "Deposit":
            undeposited = self.company.account["undeposited"]["Id"]
            net[txn["DepositToAccountRef"]["value"]] += txn["TotalAmt"]
            for line in txn["Line"]:
                if line.get("LinkedTxn"):
                    net[undeposited] -= line["Amount"]
                else:
                    net[line["DepositLineDetail"]["AccountRef"]["value"]] -= line["Amount"]
        elif entity == "Transfer":
            net[txn["ToAccountRef"]["value"]] += txn["Amount"]
            net[txn["FromAccountRef"]["value"]] -= txn["Amount"]
        elif entity == "JournalEntry":
            for line in txn["Line"]:
                detail = line["JournalEntryLineDetail"]
                sign = 1 if detail["PostingType"] == "Debit" else -1
                net[detail["AccountRef"]["value"]] += sign * line["Amount"]
        day = date.fromisoformat(txn["TxnDate"])
        for account_id, amount in net.items():
            if amount:
                yield Posting(day, account_id, amount, entity, txn["Id"])

    def _home(self, txn: dict[str, Any]) -> tuple[Decimal, int]:
        return txn.get("ExchangeRate") or Decimal(1), self.company.exponent

    def _sales(self, entity: str, txn: dict[str, Any], net: dict[str, Decimal]) -> None:
        d = SALES_FORMS[entity]
        company = self.company
        rate, exp = self._home(txn)
        currency = txn["CurrencyRef"]["value"]
        foreign = currency != company.home
        if entity in ("Invoice", "CreditMemo"):
            settle = company.receivable[currency]
        else:
            settle = txn["DepositToAccountRef"]["value"]
        credited = Decimal(0)  # home value of income + tax − discount
        for line in txn["Line"]:
            amount = half_up(line["Amount"] * rate, exp)
            kind = line["DetailType"]
            if kind == "SalesItemLineDetail":
                detail = line["SalesItemLineDetail"]
                item = company.items[detail["ItemRef"]["value"]]
                income = (detail.get("ItemAccountRef") or item["IncomeAccountRef"])["value"]
                net[income] -= d * amount
                credited += amount
                if item["Type"] == "Inventory":
                    cost = half_up(detail["Qty"] * item["PurchaseCost"], exp)
                    net[item["ExpenseAccountRef"]["value"]] += d * cost
                    net[item["AssetAccountRef"]["value"]] -= d * cost
            elif kind == "DiscountLineDetail":
                net[line["DiscountLineDetail"]["DiscountAccountRef"]["value"]] += d * amount
                credited -= amount
        for line in (txn.get("TxnTaxDetail") or {}).get("TaxLine", ()):
            amount = half_up(line["Amount"] * rate, exp)
            rate_id = line["TaxLineDetail"]["TaxRateRef"]["value"]
            net[company.tax_rate_account[rate_id]] -= d * amount
            credited += amount
        total = txn["HomeTotalAmt"] if foreign else txn["TotalAmt"]
        net[settle] += d * total
        if total != credited:
            net[company.account["fx"]["Id"]] += d * (credited - total)

    def _purchase_form(self, txn: dict[str, Any], net: dict[str, Decimal], sign: int,
                       settle: str) -> None:  # fmt: skip
        items = self.company.items
        for line in txn["Line"]:
            if line["DetailType"] == "AccountBasedExpenseLineDetail":
                target = line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"]
            else:
                item = items[line["ItemBasedExpenseLineDetail"]["ItemRef"]["value"]]
                ref = item["AssetAccountRef"] if item["Type"] == "Inventory" else item[
                    "ExpenseAccountRef"]  # fmt: skip
                target = ref["value"]
            net[target] += sign * line["Amount"]
        net[settle] -= sign * txn["TotalAmt"]

    def _payment(self, txn: dict[str, Any], net: dict[str, Decimal]) -> None:
        company = self.company
        currency = txn["CurrencyRef"]["value"]
        deposit = (txn.get("DepositToAccountRef") or {"value": company.account["undeposited"][
            "Id"]})["value"]  # fmt: skip
        receivable = (txn.get("ARAccountRef") or {"value": company.receivable[currency]})["value"]
        if currency == company.home:
            net[deposit] += txn["TotalAmt"]
            net[receivable] -= txn["TotalAmt"]
            return
        rate, exp = self._home(txn)
        received = half_up(txn["TotalAmt"] * rate, exp)
        relieved = half_up(txn.get("UnappliedAmt", Decimal(0)) * rate, exp)
        for line in txn["Line"]:
            for link in line.get("LinkedTxn", ()):
                doc = self._linked[link["TxnType"]][link["TxnId"]]
                sign = 1 if link["TxnType"] == "Invoice" else -1
                if line["Amount"] == doc["TotalAmt"]:
                    share = doc["HomeTotalAmt"]
                else:
                    share = half_up(line["Amount"] * doc["HomeTotalAmt"] / doc["TotalAmt"], exp)
                relieved += sign * share
        net[deposit] += received
        net[receivable] -= relieved
        net[company.account["fx"]["Id"]] += relieved - received

    # ---- balances ------------------------------------------------------------------------

    def balances(self, end: date, pnl_from: date | None = None) -> dict[str, Decimal]:
        """Net debit per account up to `end`; with `pnl_from`, income and expense accounts
        count only from that day and the earlier P&L closes into Retained Earnings."""
        retained = self.company.account["retained"]["Id"]
        out: dict[str, Decimal] = defaultdict(Decimal)
        for posting in self.postings:
            if posting.day > end:
                continue
            account = self.accounts[posting.account_id]
            if pnl_from is not None and posting.day < pnl_from and (
                    account["AccountType"] in PNL_TYPES):  # fmt: skip
                out[retained] += posting.amount
            else:
                out[posting.account_id] += posting.amount
        return {k: v for k, v in out.items() if v}

    def fiscal_year_start(self, day: date) -> date:
        """First day of the fiscal year holding `day`."""
        month = self.company.config.fiscal_year_start_month
        year = day.year if day.month >= month else day.year - 1
        return date(year, month, 1)

    def apply_current_balances(self) -> None:
        """Account CurrentBalance as QuickBooks shows it: balance-sheet accounts only, in the
        account's own currency, positive on their normal side."""
        company = self.company
        totals = self.balances(date.max)
        foreign_owed: dict[str, Decimal] = defaultdict(Decimal)
        for customer in company.lists["Customer"]:
            currency = customer["CurrencyRef"]["value"]
            if currency != company.home:
                foreign_owed[company.receivable[currency]] += customer["Balance"]
        own: dict[str, Decimal] = {}
        for account in company.lists["Account"]:
            kind = account["AccountType"]
            if kind in PNL_TYPES or kind == "Non-Posting":
                value = Decimal(0)
            elif account["Id"] in foreign_owed:
                value = foreign_owed[account["Id"]]
            else:
                value = totals.get(account["Id"], Decimal(0))
                if account.get("Classification") != "Asset":
                    value = -value
            own[account["Id"]] = value
            account["CurrentBalance"] = value
        for account in company.lists["Account"]:
            children = sum((own[a["Id"]] for a in company.lists["Account"]
                            if (a.get("ParentRef") or {}).get("value") == account["Id"]),
                           Decimal(0))  # fmt: skip
            account["CurrentBalanceWithSubAccounts"] = own[account["Id"]] + children


def trial_balance_report(ledger: GeneralLedger, start: date, end: date, *, basis: str,
                         pnl: str, stamp: str) -> dict[str, Any]:  # fmt: skip
    """The TrialBalance report in QuickBooks' report JSON (Header, Columns, Rows, Summary)."""
    company = ledger.company
    pnl_from = ledger.fiscal_year_start(end) if pnl == "fiscal_year" else start
    balances = ledger.balances(end, pnl_from)
    exp = currency_exponent(company.home)
    rows: list[dict[str, Any]] = []
    debit_total = credit_total = Decimal(0)
    order = {kind: n for n, kind in enumerate(TYPE_ORDER)}
    accounts = sorted((ledger.accounts[a] for a in balances),
                      key=lambda a: (order.get(a["AccountType"], 99), a["FullyQualifiedName"]))
    for account in accounts:
        amount = balances[account["Id"]]
        debit = amount if amount > 0 else None
        credit = -amount if amount < 0 else None
        debit_total += debit or 0
        credit_total += credit or 0
        rows.append({"ColData": [{"value": account["FullyQualifiedName"], "id": account["Id"]},
                                 {"value": _fmt(debit, exp)}, {"value": _fmt(credit, exp)}]})
    rows.append({"Summary": {"ColData": [{"value": "TOTAL"}, {"value": _fmt(debit_total, exp)},
                                         {"value": _fmt(credit_total, exp)}]},
                 "type": "Section", "group": "GrandTotal"})  # fmt: skip
    header = {"Time": stamp, "ReportName": "TrialBalance", "ReportBasis": basis,
              "StartPeriod": start.isoformat(), "EndPeriod": end.isoformat(),
              "SummarizeColumnsBy": "Total", "Currency": company.home,
              "Option": [{"Name": "NoReportData", "Value": "false" if len(rows) > 1 else
                          "true"}]}  # fmt: skip
    columns = [{"ColTitle": "", "ColType": "Account",
                "MetaData": [{"Name": "ColKey", "Value": "account"}]},
               {"ColTitle": "Debit", "ColType": "Money",
                "MetaData": [{"Name": "ColKey", "Value": "debit"}]},
               {"ColTitle": "Credit", "ColType": "Money",
                "MetaData": [{"Name": "ColKey", "Value": "credit"}]}]  # fmt: skip
    return {"Header": header, "Columns": {"Column": columns}, "Rows": {"Row": rows}}


def _fmt(value: Decimal | None, exponent: int) -> str:
    # Report cells are strings with the currency's decimals; an empty cell is "".
    if value is None:
        return ""
    return str(value.quantize(Decimal(1).scaleb(-exponent)))

