"""Stripe JSON for the sandbox's objects, and `expand[]` over it."""

from __future__ import annotations

from typing import Any

from sandbox.stripe.data import Charge, Dispute, Payout, Refund, StripeDataset, Txn

MAX_EXPAND_DEPTH = 4  # Stripe: "You cannot expand more than 4 levels of a property"


class ExpandError(ValueError):
    """An `expand[]` path Stripe would refuse."""


class Renderer:
    """Turns dataset objects into the JSON Stripe sends, as of the wall time `now`."""

    def __init__(self, data: StripeDataset, now: int) -> None:
        self.data = data
        self.now = now

    def render(self, obj: Any) -> dict[str, Any]:
        """The object's JSON."""
        if isinstance(obj, Txn):
            return self.txn(obj)
        if isinstance(obj, Charge):
            return self.charge(obj)
        if isinstance(obj, Refund):
            return self.refund(obj)
        if isinstance(obj, Dispute):
            return self.dispute(obj)
        if isinstance(obj, Payout):
            return self.payout(obj)
        raise TypeError(f"cannot render {type(obj).__name__}")

    def txn(self, t: Txn) -> dict[str, Any]:
        """A balance transaction."""
        return {
            "id": t.id,
            "object": "balance_transaction",
            "amount": t.amount,
            "available_on": t.available_on,
            "balance_type": "payments",
            "created": t.created,
            "currency": t.currency,
            "description": t.description,
            "exchange_rate": None,
            "fee": t.fee,
            "fee_details": [
                {"amount": amount, "application": None, "currency": t.currency,
                 "description": text, "type": kind}
                for amount, kind, text in t.fee_details
            ],  # fmt: skip
            "net": t.net,
            "reporting_category": t.reporting_category,
            "source": t.source,
            "status": "available" if t.available_on <= self.now else "pending",
            "type": t.type,
        }

    def charge(self, c: Charge) -> dict[str, Any]:
        """A charge, with its refunds as an embedded list (as API versions before 2022-11)."""
        refunds = [self.refund(self.data.by_id[r]) for r in reversed(c.refunds)]
        refunded = sum(r["amount"] for r in refunds)
        email = c.customer_name.lower().replace(" ", ".") + "@example.com"
        return {
            "id": c.id,
            "object": "charge",
            "amount": c.amount,
            "amount_captured": c.amount,
            "amount_refunded": refunded,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": c.txn,
            "billing_details": {"address": None, "email": email, "name": c.customer_name,
                                "phone": None},  # fmt: skip
            "calculated_statement_descriptor": "BIGLEDGER SANDBOX",
            "captured": True,
            "created": c.created,
            "currency": c.currency,
            "customer": c.customer,
            "description": c.description,
            "disputed": c.dispute is not None,
            "failure_code": None,
            "failure_message": None,
            "fraud_details": {},
            "livemode": False,
            "metadata": {"order_id": c.order_id} if c.order_id else {},
            "outcome": {"network_status": "approved_by_network", "reason": None,
                        "risk_level": "normal", "seller_message": "Payment complete.",
                        "type": "authorized"},  # fmt: skip
            "paid": True,
            "payment_intent": c.payment_intent,
            "payment_method": c.payment_method,
            "payment_method_details": {"type": "card", "card": {
                "brand": c.brand, "last4": c.last4, "exp_month": 12, "exp_year": 2030,
                "country": "US", "funding": "credit"}},  # fmt: skip
            "receipt_email": email,
            "receipt_url": f"https://pay.stripe.com/receipts/{c.id}",
            "refunded": refunded >= c.amount,
            "refunds": {"object": "list", "data": refunds, "has_more": False,
                        "total_count": len(refunds), "url": f"/v1/charges/{c.id}/refunds"},
            "review": None,
            "status": "succeeded",
            "statement_descriptor": None,
            "transfer_group": None,
        }

    def refund(self, r: Refund) -> dict[str, Any]:
        """A refund."""
        return {
            "id": r.id,
            "object": "refund",
            "amount": r.amount,
            "balance_transaction": r.txn,
            "charge": r.charge,
            "created": r.created,
            "currency": r.currency,
            "metadata": dict(r.metadata),
            "payment_intent": r.payment_intent,
            "reason": r.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }

    def dispute(self, d: Dispute) -> dict[str, Any]:
        """A dispute with its balance transactions (always expanded, as Stripe sends them)."""
        due_by = d.created + 7 * 86_400
        return {
            "id": d.id,
            "object": "dispute",
            "amount": d.amount,
            "balance_transactions": [self.txn(self.data.by_id[t]) for t in d.txns],
            "charge": d.charge,
            "created": d.created,
            "currency": d.currency,
            "evidence": {"customer_name": None, "product_description": None,
                         "uncategorized_text": None},  # fmt: skip
            "evidence_details": {"due_by": due_by, "has_evidence": d.status != "lost",
                                 "past_due": d.status == "lost",
                                 "submission_count": 0 if d.status == "lost" else 1},
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": d.payment_intent,
            "payment_method_details": {"type": "card", "card": {"brand": d.brand,
                                                                 "network_reason_code": "10.4"}},
            "reason": d.reason,
            "status": d.status,
        }  # fmt: skip

    def payout(self, p: Payout) -> dict[str, Any]:
        """A payout."""
        if p.arrival_date <= self.now:
            status = "paid"
        elif p.created <= self.now:
            status = "in_transit"
        else:
            status = "pending"
        return {
            "id": p.id,
            "object": "payout",
            "amount": p.amount,
            "arrival_date": p.arrival_date,
            "automatic": p.automatic,
            "balance_transaction": p.txn,
            "created": p.created,
            "currency": p.currency,
            "description": p.description,
            "destination": p.destination,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": {},
            "method": "standard",
            "original_payout": None,
            "reconciliation_status": "completed" if p.automatic else "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": None,
            "status": status,
            "type": "bank_account",
        }

    # ---- expand -----------------------------------------------------------------------------

    def expand(self, body: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """Replace id strings along each dotted path with the objects they name."""
        for path in paths:
            parts = path.split(".")
            if len(parts) > MAX_EXPAND_DEPTH:
                raise ExpandError("You cannot expand more than 4 levels of a property.")
            self._expand(body, parts, path)
        return body

    def _expand(self, node: Any, parts: list[str], path: str) -> None:
        if isinstance(node, list):
            for item in node:
                self._expand(item, parts, path)
            return
        if not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if node.get("object") == "list" and head == "data":
            # `data.x` on a list: every element.
            if rest:
                self._expand(node["data"], rest, path)
            return
        if head not in node:
            raise ExpandError(f"This property cannot be expanded ({head}).")
        value = node[head]
        if isinstance(value, str):
            target = self.data.get(value)
            if target is None:
                raise ExpandError(f"This property cannot be expanded ({head}).")
            value = node[head] = self.render(target)
        elif value is not None and not isinstance(value, dict | list):
            raise ExpandError(f"This property cannot be expanded ({head}).")
        if rest and value is not None:
            self._expand(value, rest, path)
