"""Amazon settlement report (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2) -> SettlementDocs.

The file is tab-separated with a header row; columns are found by name (the official 23, a
24th `promotion-id` in many files, extra or missing optional ones tolerated). Each
settlement opens with a summary row (settlement-id, dates, total-amount, currency); every
later row is one amount. Amounts and dates come in the marketplace's local formats
("1234.56", "1.234,56", "95,00", "-0,50"; "2024-01-15 08:00:00 UTC", "15.01.2024",
"01/15/24"), so both are parsed defensively and exactly (Decimal, never float).

Every row gets a category from (transaction-type, amount-type, amount-description) through
CATEGORY_RULES, then an account: the Order rows the order sync already debited to the Amazon
clearing account (principal, tax, shipping, promotions) are credited back out of it; fees,
refunds, withheld tax, reserves and adjustments go to their own accounts; `category_accounts`
overrides any category. The journal debits each line's account with −amount and the bank
with total-amount on the deposit date. A settlement whose lines do not add up to its
total-amount to the cent gets no journal (ties_out False): it is flagged, never posted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any

import pandas as pd

from bigledger.errors import DataMappingError
from bigledger.money import MoneyError, normalize_currency, to_minor
from transforms.documents import (
    JournalDraft,
    PaymentAccounts,
    SettlementDoc,
    SettlementLineDoc,
    lines_from_net,
)

REQUIRED_COLUMNS = ("settlement-id", "total-amount", "currency", "transaction-type",
                    "amount-type", "amount-description", "amount")  # fmt: skip
CATEGORIES = ("principal", "tax", "shipping", "promotions", "commissions", "fba_fees",
              "other_fees", "refunds", "reserves", "tax_withheld", "adjustments")  # fmt: skip

# (transaction-type, amount-type, amount-description) -> category. Case-insensitive glob
# patterns; the first match wins; anything else is an adjustment (Amazon adds new values
# without notice, and an unknown amount must still be posted somewhere visible).
CATEGORY_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("order", "itemprice", "principal", "principal"),
    ("order", "itemprice", "shipping", "shipping"),
    ("order", "itemprice", "tax", "tax"),
    ("order", "itemprice", "shippingtax", "tax"),
    ("order", "promotion", "*", "promotions"),
    ("*", "itemwithheldtax", "*", "tax_withheld"),
    ("*", "itemfees", "fba*", "fba_fees"),
    ("*", "itemfees", "*commission*", "commissions"),
    ("*", "itemfees", "*", "other_fees"),
    # Tax given back on a refund reduces the tax owed rather than counting as a refund.
    ("refund", "itemprice", "*tax", "tax"),
    ("refund", "itemprice", "*", "refunds"),
    ("refund", "promotion", "*", "refunds"),
    ("chargeback refund", "itemprice", "*tax", "tax"),
    ("chargeback refund", "itemprice", "*", "refunds"),
    ("chargeback refund", "promotion", "*", "refunds"),
    ("*", "*", "*reserve amount*", "reserves"),
    ("*", "other-transaction", "*fee*", "other_fees"),
    ("servicefee", "*", "*", "other_fees"),
    ("*", "cost of advertising", "*", "other_fees"),
    ("*", "*", "subscription fee", "other_fees"),
)

# Marketplaces that write slash dates month first (01/15/24); the others write them day first.
_MONTH_FIRST = frozenset({"amazon.com", "amazon.ca", "www.amazon.com", "www.amazon.ca"})
_ZONES = {"utc": 0, "gmt": 0, "z": 0, "pst": -8, "pdt": -7, "mst": -7, "mdt": -6, "cst": -6,
          "cdt": -5, "est": -5, "edt": -4, "bst": 1, "cet": 1, "cest": 2, "jst": 9,
          "aest": 10, "aedt": 11}  # fmt: skip
_DATE = re.compile(
    r"^(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<tz>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?$"
)
_COMMA_DECIMAL = re.compile(r",\d{1,2}\)?-?$")
_POINT_DECIMAL = re.compile(r"\.\d{1,2}\)?-?$")


def parse_settlement_report(
    content: bytes,
    accounts: PaymentAccounts,
    category_accounts: Mapping[str, str] | None = None,
) -> list[SettlementDoc]:
    """Every settlement in a Flat File V2 report, in file order, with its journal (None when
    the lines do not tie out to total-amount). DataMappingError names what cannot be read."""
    overrides = dict(category_accounts or {})
    unknown = sorted(set(overrides) - set(CATEGORIES))
    if unknown:
        raise DataMappingError(
            f"unknown settlement categories {unknown}; known: {', '.join(CATEGORIES)}",
            details={"unknown": unknown},
        )
    frame = _read(_decode(content))
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataMappingError(
            f"settlement report lacks required column(s) {', '.join(missing)}",
            details={"missing": missing, "columns": list(frame.columns)},
        )
    hint = _decimal_hint(list(frame["amount"]) + list(frame["total-amount"]))
    settlements: list[SettlementDoc] = []
    for settlement_id, group in frame.groupby("settlement-id", sort=False):
        if not str(settlement_id).strip():
            line = int(group.index[0]) + 2
            raise DataMappingError(f"settlement report line {line}: settlement-id is empty",
                                   details={"line": line})  # fmt: skip
        settlements.append(_settlement(str(settlement_id).strip(), group, hint, accounts,
                                       overrides))  # fmt: skip
    return settlements


def categorize(transaction_type: str, amount_type: str, amount_description: str) -> str:
    """The category of one settlement amount (adjustments when no rule matches)."""
    key = (transaction_type.strip().lower(), amount_type.strip().lower(),
           amount_description.strip().lower())  # fmt: skip
    for t_pattern, a_pattern, d_pattern, category in CATEGORY_RULES:
        if (fnmatchcase(key[0], t_pattern) and fnmatchcase(key[1], a_pattern)
                and fnmatchcase(key[2], d_pattern)):  # fmt: skip
            return category
    return "adjustments"


def account_for(category: str, transaction_type: str, accounts: PaymentAccounts,
                overrides: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """The account a categorised amount posts to (see the module docstring)."""
    if overrides and overrides.get(category):
        return overrides[category]
    if category in ("principal", "shipping", "promotions"):
        return accounts.clearing_account
    if category == "tax":
        # Order tax was debited to clearing by the order sync; tax on a refund was not.
        is_order = transaction_type.strip().lower() == "order"
        return accounts.clearing_account if is_order else accounts.tax_account
    return {
        "commissions": accounts.fees_account,
        "fba_fees": accounts.fees_account,
        "other_fees": accounts.fees_account,
        "refunds": accounts.refunds_account,
        "reserves": accounts.reserve_account,
        "tax_withheld": accounts.tax_account,
    }.get(category, accounts.adjustments_account)


# ---- reading ----------------------------------------------------------------------------


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    if not content:
        raise DataMappingError("settlement report is empty")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataMappingError("settlement report is neither UTF-8 nor Windows-1252 text")


def _read(text: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, na_filter=False,
            quoting=csv.QUOTE_NONE, index_col=False, skip_blank_lines=True,
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DataMappingError(f"settlement report is not a tab-separated file: {exc}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _text(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column, "")
    return value.strip() if isinstance(value, str) else ""


def _settlement(settlement_id: str, group: pd.DataFrame, hint: str, accounts: PaymentAccounts,
                overrides: Mapping[str, str]) -> SettlementDoc:  # fmt: skip
    rows = [(int(index) + 2, row) for index, row in zip(group.index, group.to_dict("records"),
                                                        strict=True)]  # fmt: skip

    def fail(problem: str, line: int | None = None, **details: Any) -> DataMappingError:
        where = f" line {line}" if line is not None else ""
        return DataMappingError(f"Amazon settlement {settlement_id}{where}: {problem}",
                                details={"settlement": settlement_id, "line": line, **details})

    currencies = {_text(r, "currency").upper() for _, r in rows if _text(r, "currency")}
    if len(currencies) != 1:
        raise fail(f"expected one currency, found {sorted(currencies) or 'none'}")
    try:
        currency = normalize_currency(currencies.pop())
    except MoneyError as exc:
        raise fail(str(exc)) from None

    def minor(text: str, line: int, column: str) -> int:
        try:
            return to_minor(parse_amount(text, hint), currency)
        except (MoneyError, ValueError) as exc:
            raise fail(f"{column} {text!r}: {exc}", line, column=column) from None

    day_first = not any(_text(r, "marketplace-name").lower() in _MONTH_FIRST for _, r in rows)
    totals: set[int] = set()
    summary: Mapping[str, Any] | None = None
    details: list[tuple[int, Mapping[str, Any]]] = []
    for line, row in rows:
        if _text(row, "total-amount"):
            totals.add(minor(_text(row, "total-amount"), line, "total-amount"))
        is_summary = not any(_text(row, c) for c in ("transaction-type", "amount-type",
                                                     "amount-description", "amount"))
        if is_summary:
            summary = summary or row
        else:
            details.append((line, row))
    if len(totals) != 1:
        raise fail(f"expected one total-amount, found {len(totals)}")
    total = totals.pop()
    head = summary if summary is not None else rows[0][1]

    def when(column: str) -> datetime | None:
        raw = _text(head, column)
        if not raw:
            return None
        parsed = parse_report_datetime(raw, day_first=day_first)
        if parsed is None:
            raise fail(f"{column} {raw!r} is not a date we can read", column=column)
        return parsed

    start, end, deposit = when("settlement-start-date"), when("settlement-end-date"), when(
        "deposit-date")  # fmt: skip
    deposit_day = (deposit or end or start)
    if deposit_day is None:
        raise fail("has no deposit-date (nor settlement dates) to date the deposit by")

    lines: list[SettlementLineDoc] = []
    by_category: dict[str, int] = {}
    net: dict[str, int] = {}
    for line, row in details:
        transaction_type = _text(row, "transaction-type")
        amount_type, description = _text(row, "amount-type"), _text(row, "amount-description")
        raw_amount = _text(row, "amount")
        amount = minor(raw_amount, line, "amount") if raw_amount else 0
        category = categorize(transaction_type, amount_type, description)
        account = account_for(category, transaction_type, accounts, overrides)
        posted = (parse_report_datetime(_text(row, "posted-date"), day_first=day_first)
                  or parse_report_datetime(_text(row, "posted-date-time"), day_first=day_first))
        lines.append(SettlementLineDoc(
            transaction_type=transaction_type,
            amount_type=amount_type,
            amount_description=description,
            order_id=_text(row, "order-id") or None,
            sku=_text(row, "sku") or None,
            posted_date=posted.date() if posted is not None else None,
            amount_minor=amount,
            category=category,
            account_id=account,
        ))  # fmt: skip
        by_category[category] = by_category.get(category, 0) + amount
        # Seller's view: + is money to the seller, leaving the account as a credit.
        net[account] = net.get(account, 0) - amount
    lines_total = sum(line.amount_minor for line in lines)
    journal = None
    if lines_total == total:
        net[accounts.bank_account] = net.get(accounts.bank_account, 0) + total
        memo = f"Amazon settlement {settlement_id}"
        journal = JournalDraft(deposit_day.date(), currency, memo, lines_from_net(net, memo))
        if not journal.is_balanced():  # unreachable once it ties out; the last guard
            raise fail("journal does not balance")
    ordered = {c: by_category[c] for c in CATEGORIES if c in by_category}
    return SettlementDoc(
        external_id=settlement_id,
        start=start,
        end=end,
        deposit_date=deposit_day.date(),
        currency=currency,
        total_minor=total,
        lines_total_minor=lines_total,
        by_category=ordered,
        lines=tuple(lines),
        journal=journal,
    )


# ---- local numbers and dates ------------------------------------------------------------


def _decimal_hint(values: Iterable[str]) -> str:
    """"," when the file's amounts mostly end in a comma and 1-2 digits ("95,00"), else "."."""
    comma = point = 0
    for value in values:
        text = value.strip() if isinstance(value, str) else ""
        if _COMMA_DECIMAL.search(text):
            comma += 1
        elif _POINT_DECIMAL.search(text):
            point += 1
    return "," if comma > point else "."


def parse_amount(text: str, decimal_hint: str = ".") -> Decimal:
    """An amount in a local format, exactly: "1.234,56", "1,234.56", "95,00", "-0,50",
    "(12.34)", "12.34-". With only one kind of separator, `decimal_hint` (the file's
    decimal mark) decides unless the grouping is unmistakable."""
    s = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("'", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.endswith("-"):
        negative, s = True, s[:-1]
    if s and s[0] in "+-":
        negative, s = negative != (s[0] == "-"), s[1:]
    if not s or not re.fullmatch(r"[\d.,]+", s) or not re.search(r"\d", s):
        raise ValueError("not a number")
    if "," in s and "." in s:
        point = "," if s.rfind(",") > s.rfind(".") else "."
    elif "," in s or "." in s:
        mark = "," if "," in s else "."
        grouped = re.fullmatch(rf"\d{{1,3}}(?:\{mark}\d{{3}})+", s) is not None
        if s.count(mark) > 1:
            point = "," if mark == "." else "."  # repeated: it can only group thousands
        elif mark == decimal_hint:
            point = mark
        else:
            point = "," if mark == "." and grouped else ("." if grouped else mark)
    else:
        point = "."
    thousands = "," if point == "." else "."
    body = s.replace(thousands, "").replace(point, ".")
    if not re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", body):
        raise ValueError("not a number")
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise ValueError("not a number") from None
    return -value if negative else value


def parse_report_datetime(text: str, *, day_first: bool = True) -> datetime | None:
    """A settlement-report date or date-time as an aware UTC datetime; None when empty or
    unreadable. Knows ISO forms, "15.01.2024 08:00:00 UTC", "01/15/24", "2024/01/15" and zone
    abbreviations; ambiguous slash dates follow `day_first` (the marketplace's habit)."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    match = _DATE.match(raw)
    if match is None:
        return None
    a, b, c = match["a"], match["b"], match["c"]
    separator = raw[len(a)]
    try:
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            first, second, year = int(a), int(b), int(c)
            if len(c) <= 2:
                year += 2000
            if separator == "." or first > 12:
                day, month = first, second
            elif second > 12 or not day_first:
                month, day = first, second
            else:
                day, month = first, second
        hour, minute, second_ = int(match["h"] or 0), int(match["mi"] or 0), int(match["s"] or 0)
        zone = _zone(match["tz"])
        if zone is None:
            return None
        return datetime(year, month, day, hour, minute, second_, tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


def _zone(text: str | None) -> timezone | None:
    if not text:
        return UTC
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return timezone(offset if text[0] == "+" else -offset)
    hours = _ZONES.get(text.lower())
    return timezone(timedelta(hours=hours)) if hours is not None else None

