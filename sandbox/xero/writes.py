"""PUT/POST /Invoices: Xero's validation, with its ValidationException shape, and creation
of DRAFT, SUBMITTED or AUTHORISED invoices and bills (an AUTHORISED one is posted, so the
Journals and the Trial Balance include it).

With Xero's default `summarizeErrors=true` one invalid invoice fails the whole batch: the
answer lists every element sent, each with its `ValidationErrors`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bigledger.money import MoneyError, to_decimal
from sandbox.xero.data import HUNDRED, ZERO, Doc, Line, Organisation, stable_id
from sandbox.xero.render import parse_ms

NIL_ID = "00000000-0000-0000-0000-000000000000"
_LAT = ("Exclusive", "Inclusive", "NoTax")
_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")


class InvoiceWriter:
    """Validates and creates invoices in one organisation."""

    def __init__(self, org: Organisation, now: float) -> None:
        self.org = org
        self.now = datetime.fromtimestamp(now, UTC)

    def create(self, body: Any) -> tuple[list[Doc], list[dict[str, Any]] | None]:
        """(created documents, None), or ([], elements with ValidationErrors)."""
        items = body.get("Invoices") if isinstance(body, dict) and "Invoices" in body else body
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list) or not items:
            return [], [{"ValidationErrors": [{"Message": "No invoices were provided"}]}]
        plans: list[tuple[dict[str, Any], list[str], Doc | None]] = []
        numbers = {d.number.lower() for d in self.org.invoices if d.type == "ACCREC"}
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                plans.append(({}, ["Each invoice must be a JSON object"], None))
                continue
            errors: list[str] = []
            doc = self._build(item, n, errors, numbers)
            plans.append((item, errors, doc))
        if any(errors for _, errors, _ in plans):
            return [], [self._element(item, errors) for item, errors, _ in plans]
        created = []
        for _, _, doc in plans:
            assert doc is not None
            self.org.post_new(doc)
            created.append(doc)
        return created, None

    def _element(self, item: dict[str, Any], errors: list[str]) -> dict[str, Any]:
        echo = {k: item[k] for k in ("Type", "InvoiceNumber", "Reference", "Contact",
                                     "Status", "LineAmountTypes", "LineItems")
                if k in item}  # fmt: skip
        return {"InvoiceID": NIL_ID, **echo, "ValidationErrors": [{"Message": m}
                                                                  for m in errors]}

    def _build(self, item: dict[str, Any], n: int, errors: list[str],
               numbers: set[str]) -> Doc | None:  # fmt: skip
        org = self.org
        doc_type = item.get("Type")
        if doc_type not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be specified as ACCREC or ACCPAY")
        contact = self._contact(item.get("Contact"), errors)
        status = str(item.get("Status") or "DRAFT").upper()
        if status not in _STATUSES:
            errors.append("Invoice not of valid status for creation")
        lat = item.get("LineAmountTypes") or "Exclusive"
        if lat not in _LAT:
            errors.append(f"LineAmountTypes '{lat}' is not valid (Exclusive, Inclusive, NoTax)")
            lat = "Exclusive"
        on = self._date(item.get("Date"), errors, "Date") or self.now.date()
        due = self._date(item.get("DueDate"), errors, "DueDate")
        number = str(item.get("InvoiceNumber") or "")
        if doc_type == "ACCREC":
            if not number:
                serial = len(org.invoices) + n + 1
                while f"inv-api-{serial:04d}" in numbers:
                    serial += 1
                number = f"INV-API-{serial:04d}"
            if number.lower() in numbers:
                errors.append("Invoice # must be unique.")
            numbers.add(number.lower())
        raw_lines = item.get("LineItems")
        if not isinstance(raw_lines, list) or not raw_lines:
            errors.append("An invoice must have at least one line item")
            raw_lines = []
        doc_id = stable_id(org.tenant_id, "api-invoice", len(org.invoices), n)
        lines = [ln for k, raw in enumerate(raw_lines)
                 if (ln := self._line(raw, k, doc_id, lat, errors))]
        if errors or doc_type not in ("ACCREC", "ACCPAY"):
            return None
        created = self.now
        doc = Doc(kind="invoice", id=doc_id, type=doc_type, number=number,
                  reference=str(item.get("Reference") or ""), contact=contact, on=on, due=due,
                  status=status, line_amount_types=lat, lines=lines, sub_total=ZERO,
                  total_tax=ZERO, total=ZERO, created=created, updated=created)  # fmt: skip
        org.compute_totals(doc)
        return doc

    def _contact(self, raw: Any, errors: list[str]) -> Any:
        if not isinstance(raw, dict) or not (raw.get("ContactID") or raw.get("Name")):
            errors.append("A Contact must be specified for this type of transaction")
            return None
        wanted_id = str(raw.get("ContactID") or "").lower()
        wanted_name = str(raw.get("Name") or "").lower()
        for contact in self.org.contacts:
            if (wanted_id and contact.id == wanted_id) or (
                    not wanted_id and contact.name.lower() == wanted_name):  # fmt: skip
                return contact
        label = raw.get("ContactID") or raw.get("Name")
        errors.append(f"Contact '{label}' could not be found")
        return None

    def _date(self, raw: Any, errors: list[str], name: str) -> date | None:
        if raw in (None, ""):
            return None
        if isinstance(raw, str):
            moment = parse_ms(raw)
            if moment is not None:
                return moment.date()
            try:
                return date.fromisoformat(raw[:10])
            except ValueError:
                pass
        errors.append(f"{name} '{raw}' is not a valid date")
        return None

    def _line(self, raw: Any, k: int, doc_id: str, lat: str,
              errors: list[str]) -> Line | None:  # fmt: skip
        org = self.org
        if not isinstance(raw, dict):
            errors.append("Each line item must be a JSON object")
            return None
        code = str(raw.get("AccountCode") or "")
        account = org.find_account(code) if code else None
        if not code:
            errors.append("Account code must be specified for each line item")
        elif account is None:
            errors.append(f"Account code '{code}' is not a valid code for this document.")
        elif account.status != "ACTIVE":
            errors.append(f"Account code '{code}' has been archived, or has been deleted. "
                          "Each line item must reference a valid account.")
        tax_type = str(raw.get("TaxType") or (account.tax_type if account else "NONE"))
        known = {str(r["TaxType"]) for r in org.tax_rates()}
        if tax_type not in known:
            errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for "
                          "this type of transaction.")
        if lat == "NoTax":
            tax_type = "NONE"
        try:
            quantity = to_decimal(raw.get("Quantity", 1))
            unit = to_decimal(raw["UnitAmount"]) if raw.get("UnitAmount") is not None else None
            given = to_decimal(raw["LineAmount"]) if raw.get("LineAmount") is not None else None
            discount = (to_decimal(raw["DiscountRate"]) if raw.get("DiscountRate") is not None
                        else None)
        except MoneyError as exc:
            errors.append(f"Line {k + 1}: {exc}")
            return None
        if unit is None and given is None:
            errors.append("Each line item must have a UnitAmount or a LineAmount")
            return None
        if unit is not None:
            gross = quantity * unit
            if discount is not None:
                gross = gross * (HUNDRED - discount) / HUNDRED
            line_amount = org.q(gross)
        else:
            assert given is not None
            line_amount, unit = org.q(given), org.q(given / quantity if quantity else given)
        if errors:
            return None
        return Line(id=stable_id(doc_id, "line", k), description=str(raw.get("Description")
                                                                     or ""),
                    quantity=quantity, unit_amount=unit, discount_rate=discount,
                    account_code=code, tax_type=tax_type, line_amount=line_amount,
                    tax_amount=org.tax_of(line_amount, tax_type, lat))  # fmt: skip

