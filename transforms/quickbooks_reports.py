"""QuickBooks Online Trial Balance report -> TrialBalanceLine, and the comparison rules.

The report (GET /reports/TrialBalance) is QuickBooks' report JSON: Header (Currency,
StartPeriod, EndPeriod ...), Columns (account, Debit, Credit) and Rows whose data rows carry
ColData [{"value": name, "id": account id}, {"value": "1201.00"}, {"value": ""}], possibly
nested in sections, and a Summary row with the TOTAL. Cells are decimal strings in the home
currency; they are parsed exactly and the rows must add up to the report's own TOTAL.

QuickBooks shows balance-sheet accounts as of the end date but income and expense accounts
only from the start of the fiscal year that holds it; earlier years' profit appears in
Retained Earnings, with no transaction behind it. `expected_trial_balance` applies the same
rule to dated postings, so a ledger can be compared with the report account by account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, to_minor
from transforms.documents import TrialBalanceLine


@dataclass(frozen=True, slots=True)
class TrialBalanceDifference:
    """One account where the ledger and the source's report disagree (net debits)."""

    account_external_id: str
    account_name: str
    ledger_minor: int
    report_minor: int

    @property
    def difference_minor(self) -> int:
        """ledger − report."""
        return self.ledger_minor - self.report_minor


def report_currency(report: Mapping[str, Any]) -> str:
    """The report's currency (Header.Currency), normalized."""
    header = report.get("Header") if isinstance(report, Mapping) else None
    raw = header.get("Currency") if isinstance(header, Mapping) else None
    if not isinstance(raw, str):
        raise DataMappingError("trial balance report has no Header.Currency")
    return normalize_currency(raw)


def report_period(report: Mapping[str, Any]) -> tuple[date | None, date | None]:
    """(StartPeriod, EndPeriod) of the report header."""
    header = report.get("Header") or {}
    out = []
    for key in ("StartPeriod", "EndPeriod"):
        raw = header.get(key)
        out.append(date.fromisoformat(raw) if isinstance(raw, str) and raw else None)
    return out[0], out[1]


def parse_trial_balance(report: Mapping[str, Any]) -> list[TrialBalanceLine]:
    """Every account row of a TrialBalance report, by account id, in minor units of the
    report's currency (one line per account, its net on one side). Raises
    DataMappingError for a row with an amount but no account id, or rows that do not add
    up to the report's TOTAL."""
    currency = report_currency(report)
    debit_col, credit_col = _money_columns(report)
    merged: dict[str, tuple[str, int]] = {}
    debit_total = credit_total = 0
    stated: tuple[int, int] | None = None
    for row in _rows(report.get("Rows")):
        summary = row.get("Summary")
        if isinstance(summary, Mapping) and row.get("group") in ("GrandTotal", "Total"):
            cells = summary.get("ColData") or []
            stated = (_cell(cells, debit_col, currency), _cell(cells, credit_col, currency))
        cells = row.get("ColData")
        if not isinstance(cells, list) or not cells:
            continue
        debit = _cell(cells, debit_col, currency)
        credit = _cell(cells, credit_col, currency)
        account_id = cells[0].get("id") if isinstance(cells[0], Mapping) else None
        name = str(cells[0].get("value") or "") if isinstance(cells[0], Mapping) else ""
        if not account_id:
            if debit or credit:
                raise DataMappingError(f"trial balance row {name!r} has amounts but no "
                                       "account id", details={"row": dict(row)})  # fmt: skip
            continue
        debit_total += debit
        credit_total += credit
        _, before = merged.get(str(account_id), (name, 0))
        merged[str(account_id)] = (name, before + debit - credit)
    if stated is not None and stated != (debit_total, credit_total):
        raise DataMappingError(
            f"trial balance rows add up to {debit_total}/{credit_total} but its TOTAL says "
            f"{stated[0]}/{stated[1]} ({currency} minor units)",
            details={"rows": [debit_total, credit_total], "total": list(stated)})
    return [TrialBalanceLine(account_id, name, max(net, 0), max(-net, 0))
            for account_id, (name, net) in merged.items()]  # fmt: skip


def fiscal_year_start(day: date, first_month: int = 1) -> date:
    """First day of the fiscal year that holds `day` (fiscal years start on day 1 of
    `first_month`, QuickBooks' FiscalYearStartMonth)."""
    if not 1 <= first_month <= 12:
        raise ValueError("first_month must be 1..12")
    year = day.year if day.month >= first_month else day.year - 1
    return date(year, first_month, 1)


def expected_trial_balance(postings: Iterable[tuple[date, str, int]], end: date, *,
                           income_statement_accounts: Collection[str],
                           retained_earnings_account: str,
                           first_month: int = 1) -> dict[str, int]:  # fmt: skip
    """Net debit per account as QuickBooks' Trial Balance shows it at `end`, from dated
    postings (day, account, net debit): income statement accounts count only from the start
    of the fiscal year, earlier ones roll into `retained_earnings_account`. Accounts that
    net to zero are left out (QuickBooks does not list them)."""
    year_start = fiscal_year_start(end, first_month)
    out: dict[str, int] = {}
    for day, account, amount in postings:
        if day > end:
            continue
        if day < year_start and account in income_statement_accounts:
            account = retained_earnings_account
        out[account] = out.get(account, 0) + amount
    return {account: amount for account, amount in out.items() if amount}


def compare_trial_balance(ledger: Mapping[str, int], report: Iterable[TrialBalanceLine],
                          names: Mapping[str, str] | None = None
                          ) -> list[TrialBalanceDifference]:  # fmt: skip
    """Accounts (by source account id) where the ledger's net debit differs from the
    report's; an empty list is parity to the cent. `names` labels accounts the report
    does not list."""
    reported = {line.account_external_id: line for line in report}
    out = []
    for account in sorted(set(reported) | {a for a, v in ledger.items() if v}, key=_order):
        line = reported.get(account)
        report_net = line.net_minor if line is not None else 0
        ledger_net = ledger.get(account, 0)
        if ledger_net != report_net:
            name = line.account_name if line is not None else (names or {}).get(account, "")
            out.append(TrialBalanceDifference(account, name, ledger_net, report_net))
    return out


def _order(account_id: str) -> tuple[int, int | str]:
    return (0, int(account_id)) if account_id.isdigit() else (1, account_id)


def _money_columns(report: Mapping[str, Any]) -> tuple[int, int]:
    columns = ((report.get("Columns") or {}).get("Column")) or []
    debit = credit = None
    for n, column in enumerate(columns):
        keys = {str(column.get("ColTitle") or "").lower()}
        keys |= {str(m.get("Value") or "").lower() for m in column.get("MetaData") or ()
                 if isinstance(m, Mapping) and m.get("Name") == "ColKey"}  # fmt: skip
        if "debit" in keys:
            debit = n
        elif "credit" in keys:
            credit = n
    if debit is None or credit is None:
        if len(columns) not in (0, 3):
            raise DataMappingError("trial balance report has no Debit and Credit columns")
        return 1, 2
    return debit, credit


def _rows(container: Any) -> Iterator[Mapping[str, Any]]:
    """Every row, depth first (sections nest their rows under Rows.Row)."""
    if not isinstance(container, Mapping):
        return
    for row in container.get("Row") or ():
        if not isinstance(row, Mapping):
            continue
        yield row
        yield from _rows(row.get("Rows"))


def _cell(cells: list[Any], index: int, currency: str) -> int:
    if index >= len(cells) or not isinstance(cells[index], Mapping):
        return 0
    raw = cells[index].get("value")
    if raw in (None, ""):
        return 0
    try:
        return to_minor(str(raw).replace(",", ""), currency)
    except MoneyError as exc:
        raise DataMappingError(f"trial balance cell {raw!r}: {exc}") from None
