"""Property-style check: many generated, self-consistent Shopify orders, every one balances.

Orders are built from random minor-unit amounts (seeded, so failures reproduce), spelled the
ways Shopify and hand-written payloads spell them ("10.5", "10.50", "1500.0"). Each journal
must balance and hold exactly the positions the order implies.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from bigledger.money import format_minor
from transforms.documents import PostingAccounts, net_by_account
from transforms.shopify_orders import UNCAPTURED_STATUSES, order_to_documents

ACCOUNTS = PostingAccounts(
    receivable_account="acc_receivable",
    sales_account="acc_sales",
    sales_returns_account="acc_sales_returns",
    tax_account="acc_tax_sales",
    shipping_account="acc_shipping",
    discount_account="acc_discounts",
    clearing_account="acc_undeposited",
    gateway_accounts={"stripe": "acc_stripe", "shopify_payments": "acc_shopify_payments"},
    tax_accounts={"County Tax": "acc_tax_county"},
)
TAX_ACCOUNTS = {"acc_tax_sales", "acc_tax_county"}


def _spell(rng: random.Random, minor: int, currency: str) -> str:
    text = format_minor(minor, currency)
    choice = rng.random()
    if choice < 0.2:
        return text + ("0" if "." in text else ".0")  # "10.500", "1500.0": same value
    if choice < 0.3 and "." in text:
        return text.rstrip("0").rstrip(".")            # "10.5", "10"
    return text


def _bag(rng: random.Random, minor: int, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": _spell(rng, minor, currency), "currencyCode": currency}}


def _tax_lines(rng: random.Random, base: int, currency: str, into: dict[str, int]) -> list:
    lines = []
    for title in ("State Tax", "County Tax"):
        if rng.random() < 0.5:
            amount = rng.randint(0, max(base // 5, 0))
            into[title] = into.get(title, 0) + amount
            lines.append({"title": title, "rate": None, "priceSet": _bag(rng, amount, currency)})
    return lines


def generate_order(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A consistent order payload and the facts it was built from."""
    rng = random.Random(seed)
    currency = rng.choice(["USD", "MYR", "JPY", "KWD", "GBP"])
    included = rng.random() < 0.4
    taxes: dict[str, int] = {}
    gross = discounts = 0
    items = []
    for n in range(rng.randint(1, 4)):
        unit, quantity = rng.randint(0, 50_000), rng.randint(0, 5)
        discount = rng.randint(0, unit * quantity) if rng.random() < 0.4 else 0
        gross += unit * quantity
        discounts += discount
        items.append({
            "id": f"gid://shopify/LineItem/{seed}{n}", "sku": f"SKU-{n}", "name": f"Item {n}",
            "quantity": quantity, "variant": None, "product": None,
            "originalUnitPriceSet": _bag(rng, unit, currency),
            "discountAllocations": [{"allocatedAmountSet": _bag(rng, discount, currency)}]
            if discount else [],
            "taxLines": _tax_lines(rng, unit * quantity - discount, currency, taxes),
        })
    shipping_original = shipping_charged = shipping_tax = 0
    shipping_lines = []
    for n in range(rng.randint(0, 2)):
        original = rng.randint(0, 3_000)
        charged = original if rng.random() < 0.6 else rng.randint(0, original)
        before = sum(taxes.values())
        ship_taxes = _tax_lines(rng, charged, currency, taxes)
        shipping_tax += sum(taxes.values()) - before
        shipping_original += original
        shipping_charged += charged
        shipping_lines.append({
            "id": f"gid://shopify/ShippingLine/{seed}{n}", "title": "Ship", "code": "S",
            "originalPriceSet": _bag(rng, original, currency),
            "discountedPriceSet": _bag(rng, charged, currency), "taxLines": ship_taxes,
        })
    tax = sum(taxes.values())
    total = gross - discounts + shipping_charged + (0 if included else tax)
    paid = rng.choice([0, total, rng.randint(0, total)])
    outstanding = total - paid
    if rng.random() < 0.05:
        outstanding -= rng.randint(1, 500)  # overpaid
        paid = total - outstanding
    refund_amounts = []
    left = paid
    for _ in range(rng.randint(0, 2) if paid else 0):
        amount = rng.randint(1, left) if left > 0 else 0
        if amount:
            refund_amounts.append(amount)
            left -= amount
    refunded = sum(refund_amounts)
    if paid == 0:
        status = rng.choice(sorted(UNCAPTURED_STATUSES))
    elif refunded and refunded == paid:
        status = "REFUNDED"
    elif refunded:
        status = "PARTIALLY_REFUNDED"
    else:
        status = "PARTIALLY_PAID" if outstanding > 0 else "PAID"
    cancelled = rng.random() < 0.25
    order = {
        "id": f"gid://shopify/Order/{seed}", "legacyResourceId": str(seed), "name": f"#{seed}",
        "email": None, "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-02T00:00:00Z",
        "processedAt": "2024-01-01T00:00:00Z",
        "cancelledAt": "2024-01-03T00:00:00Z" if cancelled else None,
        "currencyCode": currency, "taxesIncluded": included,
        "displayFinancialStatus": status, "displayFulfillmentStatus": "UNFULFILLED",
        "paymentGatewayNames": rng.choice([[], ["stripe"], ["manual"], ["gift_card", "stripe"],
                                           ["shopify_payments"]]),
        "customer": None,
        "totalPriceSet": _bag(rng, total, currency),
        "totalTaxSet": _bag(rng, tax, currency),
        "totalRefundedSet": _bag(rng, refunded, currency),
        "totalOutstandingSet": _bag(rng, outstanding, currency),
        "taxLines": [{"title": t, "rate": None, "priceSet": _bag(rng, a, currency)}
                     for t, a in taxes.items()],
        "lineItems": {"nodes": items},
        "shippingLines": {"nodes": shipping_lines},
        "refunds": [{"id": f"gid://shopify/Refund/{seed}{n}", "totalRefundedSet":
                     _bag(rng, a, currency)} for n, a in enumerate(refund_amounts)],
    }
    facts = {
        "gross": gross, "discounts": discounts + shipping_original - shipping_charged,
        "shipping_original": shipping_original, "tax": tax, "total": total,
        "outstanding": outstanding, "refunded": refunded, "included": included,
        "void": cancelled and status in UNCAPTURED_STATUSES,
    }
    return order, facts


@pytest.mark.parametrize("batch", range(10))
def test_generated_orders_balance_and_hold_the_positions_they_imply(batch):
    for seed in range(batch * 100, batch * 100 + 100):
        order, facts = generate_order(seed)
        docs = order_to_documents(order, ACCOUNTS)
        journal = docs.journal
        assert journal.is_balanced(), seed
        assert all((ln.debit_minor > 0) != (ln.credit_minor > 0) for ln in journal.lines), seed
        assert docs.sales_order.total_minor == facts["total"], seed
        if facts["void"]:
            assert journal.lines == (), seed
            continue
        net = net_by_account(journal.lines)
        clearing = ACCOUNTS.clearing_for(order["paymentGatewayNames"])
        assert net.get("acc_receivable", 0) == facts["outstanding"], seed
        assert net.get(clearing, 0) == facts["total"] - facts["outstanding"] - facts[
            "refunded"], seed
        assert net.get("acc_sales_returns", 0) == facts["refunded"], seed
        assert net.get("acc_discounts", 0) == facts["discounts"], seed
        assert -sum(net.get(a, 0) for a in TAX_ACCOUNTS) == facts["tax"], seed
        income = -(net.get("acc_sales", 0) + net.get("acc_shipping", 0))
        assert income == facts["gross"] + facts["shipping_original"] - (
            facts["tax"] if facts["included"] else 0), seed
        # the same payload always gives the same documents (re-running changes nothing)
        assert order_to_documents(order, ACCOUNTS) == docs, seed
