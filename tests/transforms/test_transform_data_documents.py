"""to_documents: valid transform-data records -> the ledger's documents, idempotent ids."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.transforms.conftest import standard_accounts
from transforms.documents import ContactDoc, JournalDraft, ProductDoc, SourceAccountDoc
from transforms.target_formats import TARGET_FORMATS, record_external_id, to_documents
from transforms.transform_data import transform_data


def test_customers_and_vendors_become_contacts() -> None:
    records = [{"name": "Acme", "email": "ap@acme.my", "phone": "+603",
                "address": {"street": "1 Jalan", "city": "KL"}, "currency": "MYR",
                "balance": Decimal("10.50"), "creditLimit": Decimal("5000")}]  # fmt: skip
    (customer,) = to_documents("bigledger_customer", records)
    assert customer.object_type == "customer" and customer.external_id == "ap@acme.my"
    doc = customer.document
    assert isinstance(doc, ContactDoc) and doc.is_customer and not doc.is_supplier
    assert doc.billing_address == {"line1": "1 Jalan", "city": "KL"}
    assert doc.balance_minor == 1050
    (vendor,) = to_documents("bigledger_vendor", [{"name": "Supplier", "externalId": "V1"}])
    assert vendor.external_id == "V1" and vendor.document.is_supplier


def test_external_id_falls_back_to_a_stable_hash() -> None:
    record = {"name": "No Email Sdn Bhd"}
    first = record_external_id("bigledger_customer", record)
    assert first == record_external_id("bigledger_customer", dict(record))
    assert first.startswith("td_")
    assert first != record_external_id("bigledger_customer", {"name": "Other"})


def test_products() -> None:
    records = [{"sku": "SKU-A", "name": "Kopi", "price": Decimal("19.90"), "currency": "MYR",
                "quantity": 12, "barcode": "955"}]  # fmt: skip
    (item,) = to_documents("bigledger_product", records)
    product = item.document
    assert isinstance(product, ProductDoc) and item.external_id == "SKU-A"
    assert product.variants[0].price_minor == 1990 and product.variants[0].sku == "SKU-A"
    assert product.inventory[0].available == 12


def test_orders_get_a_balanced_journal() -> None:
    data = ("no,date,cur,sku,qty,price,tax,ship,paid\n"
            "SO-1,2024-01-15,MYR,A,2,19.90,2.39,5.00,paid\nSO-1,,,B,1,10.00,,,\n"
            "SO-2,2024-01-16,JPY,C,3,500,,,pending\n")  # fmt: skip
    mapping = {"orderNumber": "no", "orderDate": "date", "currency": "cur", "lines.sku": "sku",
               "lines.quantity": "qty", "lines.unitPrice": "price", "tax": "tax",
               "shipping": "ship", "financialStatus": "paid"}  # fmt: skip
    result = transform_data("csv", "bigledger_order", mapping, data)
    assert result.errors == []
    docs = to_documents("bigledger_order", result.records, accounts=standard_accounts())
    assert [d.external_id for d in docs] == ["SO-1", "SO-2"]
    so1 = docs[0].document
    assert so1.sales_order.total_minor == 3980 + 1000 + 239 + 500
    assert so1.journal.is_balanced()
    assert so1.journal.net_by_account() == {"acc_undeposited": 5719, "acc_sales": -4980,
                                            "acc_tax_sst": -239, "acc_shipping": -500}
    so2 = docs[1].document
    assert so2.sales_order.total_minor == 1500 and so2.sales_order.outstanding_minor == 1500
    assert so2.journal.net_by_account() == {"acc_receivable": 1500, "acc_sales": -1500}
    for doc in docs:
        for line in doc.journal.lines:
            assert type(line.debit_minor) is int and type(line.credit_minor) is int
    with pytest.raises(ValueError, match="PostingAccounts"):
        to_documents("bigledger_order", result.records)


def test_accounts_become_source_accounts() -> None:
    records = [{"code": "1000", "name": "Cash", "type": "asset", "parentCode": "1"}]
    (item,) = to_documents("bigledger_account", records)
    assert isinstance(item.document, SourceAccountDoc)
    assert item.external_id == "1000" and item.document.classification == "asset"
    assert item.document.parent_external_id == "1"


def test_journal_entries_become_journal_drafts() -> None:
    records = [{"entryNumber": "JE-1", "date": date(2024, 1, 31), "currency": "MYR",
                "lines": [{"account": "acc_rent", "debit": Decimal("1500.00")},
                          {"account": "acc_bank", "credit": Decimal("1500")}]}]  # fmt: skip
    (item,) = to_documents("bigledger_journal_entry", records)
    draft = item.document
    assert isinstance(draft, JournalDraft) and item.external_id == "JE-1"
    assert draft.is_balanced() and draft.totals() == (150000, 150000)
    assert draft.entry_date == date(2024, 1, 31)


def test_every_format_has_a_document_builder() -> None:
    minimal = {
        "bigledger_customer": {"name": "A"},
        "bigledger_vendor": {"name": "B"},
        "bigledger_product": {"name": "P", "price": "1", "currency": "USD"},
        "bigledger_order": {"orderNumber": "1", "orderDate": "2024-01-01", "currency": "USD",
                            "lines": [{"quantity": 1, "unitPrice": "1"}]},
        "bigledger_account": {"code": "1", "name": "A", "type": "equity"},
        "bigledger_journal_entry": {"entryNumber": "1", "date": "2024-01-01", "currency": "USD",
                                    "lines": [{"account": "a", "debit": "1"},
                                              {"account": "b", "credit": "1"}]},
    }  # fmt: skip
    assert set(minimal) == set(TARGET_FORMATS)
    for name, record in minimal.items():
        (item,) = to_documents(name, [record], accounts=standard_accounts())
        assert item.external_id
        if item.journal is not None:
            assert item.journal.is_balanced()
