"""Xero's Trial Balance report -> TrialBalanceLine per account, exact to the minor unit.

The report (GET Reports/TrialBalance?date=) is a header row (Account, Debit, Credit, YTD
Debit, YTD Credit), one Section per class with a Row per account, and a last Section with
the Total SummaryRow. Every cell of an account row carries the AccountID in its Attributes
(`{"Id": "account", "Value": "<AccountID>"}`). Debit/Credit are the movement in the month of
the report date; the balance is in the YTD columns: balance-sheet accounts to date, profit
and loss accounts for the financial year to date, with earlier years rolled into Retained
Earnings (`fold_prior_years` gives a ledger's balances that same view).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import currency_exponent
from transforms.documents import TrialBalanceLine


def _report(report: dict[str, Any]) -> dict[str, Any]:
    if isinstance(report.get("Reports"), list):
        reports = [r for r in report["Reports"] if isinstance(r, dict)]
        if len(reports) != 1:
            raise DataMappingError(f"expected one report, got {len(reports)}")
        return reports[0]
    return report


def _amount(text: Any, exponent: int, where: str) -> int:
    if text is None or (isinstance(text, str) and not text.strip()):
        return 0
    try:
        value = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation as exc:
        raise DataMappingError(f"Trial Balance {where}: {text!r} is not an amount") from exc
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise DataMappingError(f"Trial Balance {where}: {text!r} has more than {exponent} "
                               "decimals")  # fmt: skip
    return int(scaled)


def _columns(rows: list[Any]) -> tuple[int, int]:
    for row in rows:
        if isinstance(row, dict) and row.get("RowType") == "Header":
            names = [str(c.get("Value") or "").strip().lower() for c in row.get("Cells") or ()]
            for debit, credit in (("ytd debit", "ytd credit"), ("debit", "credit")):
                if debit in names and credit in names:
                    return names.index(debit), names.index(credit)
            raise DataMappingError(f"Trial Balance header has no debit/credit columns: {names}")
    raise DataMappingError("Trial Balance has no header row")


def _account_id(cells: list[Any]) -> str | None:
    for cell in cells:
        for attribute in (cell.get("Attributes") or ()) if isinstance(cell, dict) else ():
            if isinstance(attribute, dict) and attribute.get("Id") == "account" \
                    and attribute.get("Value"):  # fmt: skip
                return str(attribute["Value"])
    return None


def _walk(rows: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if row.get("RowType") == "Section":
            out.extend(_walk(row.get("Rows") or []))
        elif row.get("RowType") in ("Row", "SummaryRow"):
            out.append(row)
    return out


def parse_trial_balance(report: dict[str, Any],
                        currency: str | None = None) -> list[TrialBalanceLine]:  # fmt: skip
    """One TrialBalanceLine per account of a Xero Trial Balance (the report or the API's
    `{"Reports": [...]}` envelope), from the YTD columns, in report order.

    `currency` gives the minor unit (two decimals when None). The lines are checked against
    the report's own Total row; a row with amounts but no AccountID is refused.
    """
    exponent = currency_exponent(currency) if currency else 2
    body = _report(report)
    rows = body.get("Rows")
    if not isinstance(rows, list):
        raise DataMappingError("Trial Balance has no Rows")
    debit_at, credit_at = _columns(rows)
    lines: dict[str, TrialBalanceLine] = {}
    totals: tuple[int, int] | None = None
    for row in _walk(rows):
        cells = row.get("Cells") or []
        label = str(cells[0].get("Value") or "") if cells and isinstance(cells[0], dict) else ""

        def cell(index: int, cells: list[Any] = cells, label: str = label) -> int:
            value = cells[index].get("Value") if index < len(cells) else None
            return _amount(value, exponent, label or "row")

        debit, credit = cell(debit_at), cell(credit_at)
        if row.get("RowType") == "SummaryRow":
            if label.strip().lower() == "total":
                totals = (debit, credit)
            continue
        account_id = _account_id(cells)
        if account_id is None:
            if debit or credit:
                raise DataMappingError(f"Trial Balance row {label!r} has amounts but no "
                                       "account id", details={"row": label})
            continue
        if account_id in lines:  # the same account twice: add them up
            seen = lines[account_id]
            debit, credit = debit + seen.debit_minor, credit + seen.credit_minor
        lines[account_id] = TrialBalanceLine(account_id, label, debit, credit)
    if totals is not None:
        sums = (sum(x.debit_minor for x in lines.values()),
                sum(x.credit_minor for x in lines.values()))
        if sums != totals:
            raise DataMappingError(
                f"Trial Balance rows add up to {sums} but its Total row says {totals}",
                details={"rows": list(sums), "total": list(totals)})
    return list(lines.values())


def net_by_account(lines: Collection[TrialBalanceLine]) -> dict[str, int]:
    """Net debit per account id (accounts at zero left out)."""
    return {line.account_external_id: line.net_minor for line in lines if line.net_minor}


def financial_year_start(as_of: date, end_month: int, end_day: int) -> date:
    """First day of the financial year containing `as_of` (Organisation's
    FinancialYearEndMonth/Day)."""

    def year_end(year: int) -> date:
        try:
            return date(year, end_month, end_day)
        except ValueError:  # 29 February in a common year
            return date(year, end_month, 28)

    end = year_end(as_of.year)
    if as_of > end:
        return end + timedelta(days=1)
    return year_end(as_of.year - 1) + timedelta(days=1)


def fold_prior_years(to_date: Mapping[str, int], before_year: Mapping[str, int],
                     profit_and_loss: Collection[str],
                     retained_earnings: str) -> dict[str, int]:  # fmt: skip
    """Ledger balances as Xero's Trial Balance shows them: profit and loss accounts keep only
    this financial year (balance to date less balance at the year's start), and what they
    held at the year's start moves into the retained earnings account. Both inputs are net
    debits per account; accounts at zero are left out."""
    out = dict(to_date)
    for account in profit_and_loss:
        opening = before_year.get(account, 0)
        if opening:
            out[account] = out.get(account, 0) - opening
            out[retained_earnings] = out.get(retained_earnings, 0) + opening
    return {account: amount for account, amount in out.items() if amount}
