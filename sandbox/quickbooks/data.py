"""A generated QuickBooks Online company: chart, lists, and a year of transactions.

Deterministic from the config's DATASET_FIELDS. Transactions are generated day by day in
date order with the state a real book has (open invoices and bills, credit memos waiting to
be applied, payments sitting in Undeposited Funds, stock on hand), then rendered as the
records the API returns. The general ledger behind the Trial Balance report is derived from
those records afterwards (sandbox/quickbooks/ledger.py), never from the generator's intent,
so the report can only agree with what the API serves.

Amounts are Decimal (rendered as JSON numbers); times carry the company's fixed UTC offset.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bigledger.money import currency_exponent
from sandbox.quickbooks.config import QuickBooksSandboxConfig

CURRENCY_NAMES = {
    "USD": "United States Dollar", "EUR": "Euro", "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar", "AUD": "Australian Dollar", "MYR": "Malaysian Ringgit",
    "JPY": "Japanese Yen", "SGD": "Singapore Dollar", "KWD": "Kuwaiti Dinar",
}  # fmt: skip
# Value of one unit in USD, to derive plausible cross rates.
USD_VALUE = {"USD": "1", "EUR": "1.08", "GBP": "1.27", "CAD": "0.74", "AUD": "0.66",
             "MYR": "0.21", "JPY": "0.0067", "SGD": "0.74", "KWD": "3.25"}  # fmt: skip

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip

# (key, Name, AccountType, AccountSubType, Classification, AcctNum, parent key, active)
ACCOUNTS: tuple[tuple[str, str, str, str | None, str | None, str | None, str | None, bool],
                ...] = (
    ("checking", "Checking", "Bank", "Checking", "Asset", "1000", None, True),
    ("savings", "Savings", "Bank", "Savings", "Asset", "1010", None, True),
    ("old_savings", "Old Savings", "Bank", "Savings", "Asset", "1020", None, False),
    ("ar", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset",
     "1100", None, True),
    ("undeposited", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset",
     "1290", None, True),
    ("inventory", "Inventory Asset", "Other Current Asset", "Inventory", "Asset", "1300", None,
     True),
    ("prepaid", "Prepaid Expenses", "Other Current Asset", "PrepaidExpenses", "Asset", "1400",
     None, True),
    ("equipment", "Equipment", "Fixed Asset", "MachineryAndEquipment", "Asset", "1500", None,
     True),
    ("deposits", "Security Deposits", "Other Asset", "SecurityDeposits", "Asset", "1800", None,
     True),
    ("ap", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability", "2000",
     None, True),
    ("card", "Business Credit Card", "Credit Card", "CreditCard", "Liability", "2100", None,
     True),
    ("tax_state", "State Department of Revenue Payable", "Other Current Liability",
     "SalesTaxPayable", "Liability", "2210", None, True),
    ("tax_city", "City of Springfield Payable", "Other Current Liability", "SalesTaxPayable",
     "Liability", "2220", None, True),
    ("loan", "Loan Payable", "Long Term Liability", "NotesPayable", "Liability", "2700", None,
     True),
    ("opening", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", "Equity", "3000",
     None, True),
    ("owner", "Owner's Investment", "Equity", "OwnersEquity", "Equity", "3050", None, True),
    ("retained", "Retained Earnings", "Equity", "RetainedEarnings", "Equity", "3100", None,
     True),
    ("product_income", "Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue",
     "4000", None, True),
    ("services", "Services", "Income", "ServiceFeeIncome", "Revenue", "4100", None, True),
    ("discounts", "Discounts given", "Income", "DiscountsRefundsGiven", "Revenue", "4200", None,
     True),
    ("cogs", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense",
     "5000", None, True),
    ("advertising", "Advertising", "Expense", "AdvertisingPromotional", "Expense", "6000", None,
     True),
    ("bank_charges", "Bank Charges", "Expense", "BankCharges", "Expense", "6100", None, True),
    ("rent", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", "Expense", "6200", None,
     True),
    ("utilities", "Utilities", "Expense", "Utilities", "Expense", "6300", None, True),
    ("gas_electric", "Gas and Electric", "Expense", "Utilities", "Expense", "6310",
     "utilities", True),
    ("telephone", "Telephone", "Expense", "Utilities", "Expense", "6320", "utilities", True),
    ("office", "Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", "Expense",
     "6400", None, True),
    ("supplies", "Supplies", "Expense", "SuppliesMaterials", "Expense", "6500", None, True),
    ("interest", "Interest Earned", "Other Income", "InterestEarned", "Revenue", "7000", None,
     True),
    ("fx", "Exchange Gain or Loss", "Other Expense", "ExchangeGainOrLoss", "Expense", "7900",
     None, True),
    # QuickBooks keeps open purchase orders here: no balance, never on the Trial Balance.
    ("purchase_orders", "Purchase Orders", "Non-Posting", None, None, None, None, True),
)

# (Name, Type, UnitPrice, PurchaseCost, income key, expense key, taxable)
ITEMS = (
    ("Hours", "Service", "85", None, "services", None, False),
    ("Design", "Service", "120", None, "services", None, False),
    ("Installation", "Service", "65", None, "services", None, False),
    ("Widget", "Inventory", "25", "11", "product_income", "cogs", True),
    ("Gadget", "Inventory", "60", "27.5", "product_income", "cogs", True),
    ("Cable", "NonInventory", "8", "3.1", "product_income", "supplies", True),
    ("Consulting", "Service", "150", "90", "services", "office", False),
)
TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
PAYMENT_METHODS = (("Cash", "NON_CREDIT_CARD"), ("Check", "NON_CREDIT_CARD"),
                   ("Credit Card", "CREDIT_CARD"))  # fmt: skip
AGENCIES = (("State Department of Revenue", "tax_state", "State sales tax", "6.25"),
            ("City of Springfield", "tax_city", "Springfield city tax", "1.5"))  # fmt: skip

FIRST = ("Amy", "Bill", "Cathy", "Dylan", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara")
LAST = ("Lauf", "Ortiz", "Chen", "Novak", "Haddad", "Kowalski", "Silva", "Tanaka", "Moreau",
        "Okafor", "Berg", "Rossi", "Nguyen", "Schmidt", "Kaur", "Dubois", "Lindqvist", "Park")
TRADES = ("Bird Sanctuary", "Bakery", "Garden Supply", "Dental", "Builders", "Books",
          "Cycles", "Florist", "Pet Care", "Printing", "Studio", "Outfitters", "Coffee")
VENDOR_NAMES = ("Brosnahan Insurance Agency", "Cal Telephone", "Computers by Jenni",
                "Diego's Road Warrior Bodyshop", "EDD", "Ellis Equipment Rental",
                "Hall Properties", "Hicks Hardware", "Lee Advertising", "Mahoney Mugs",
                "Norton Lumber and Building Materials", "PG&E", "Robertson & Associates",
                "Squeaky Kleen Car Wash", "Tania's Nursery", "Tim Philip Masonry")  # fmt: skip
CITIES = (("Bayshore", "CA", "94326"), ("Middlefield", "CA", "94303"),
          ("Sunnyvale", "CA", "94086"), ("Palo Alto", "CA", "94304"),
          ("Springfield", "IL", "62701"), ("Austin", "TX", "78701"))  # fmt: skip
STREETS = ("Main St", "Oak Ave", "Market St", "Elm Rd", "Harbor Blvd", "Pine Ln")

# Transaction kinds and their weights per generated transaction.
KINDS = (("invoice", 24), ("payment", 18), ("sales_receipt", 8), ("credit_memo", 3),
         ("refund_receipt", 2), ("bill", 12), ("bill_payment", 9), ("purchase", 11),
         ("vendor_credit", 2), ("deposit", 5), ("transfer", 3), ("journal_entry", 3))  # fmt: skip
VOIDABLE = frozenset({"Invoice", "Payment", "SalesReceipt", "Purchase", "BillPayment"})

TRANSACTION_ENTITIES = ("Invoice", "Payment", "SalesReceipt", "CreditMemo", "RefundReceipt",
                        "Bill", "BillPayment", "Purchase", "VendorCredit", "Deposit",
                        "Transfer", "JournalEntry")  # fmt: skip
LIST_ENTITIES = ("Account", "Item", "TaxAgency", "TaxRate", "TaxCode", "Term", "PaymentMethod",
                 "Customer", "Vendor")  # fmt: skip


def half_up(value: Decimal, exponent: int) -> Decimal:
    """Round half up to `exponent` decimals (how the sandbox converts and computes tax)."""
    return value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


def ref(value: str, name: str | None = None) -> dict[str, str]:
    """A QuickBooks reference {"value", "name"}."""
    return {"value": value, "name": name} if name is not None else {"value": value}


@dataclass
class Deleted:
    """A transaction deleted after it was created: gone from queries, listed by CDC."""

    entity: str
    id: str
    deleted_at: datetime
    record: dict[str, Any]


@dataclass
class _State:
    open_invoices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    open_credit_memos: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    open_bills: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    open_vendor_credits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    undeposited: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stock: dict[str, Decimal] = field(default_factory=dict)
    card_balance: Decimal = Decimal(0)
    savings_balance: Decimal = Decimal(0)


class Company:
    """The generated company: `lists[entity]` and `txns[entity]` hold the live records (voided
    ones included, deleted ones moved to `deleted`), all ordered by Id."""

    def __init__(self, config: QuickBooksSandboxConfig) -> None:
        self.config = config
        self.home = config.home_currency
        self.exponent = currency_exponent(self.home)
        self.zone = timezone(timedelta(minutes=config.utc_offset_minutes))
        self.foreign = tuple(config.foreign_currencies or ())
        self.rng = random.Random(f"qbo:{config.seed}:{config.home_currency}")
        self.lists: dict[str, list[dict[str, Any]]] = {name: [] for name in LIST_ENTITIES}
        self.txns: dict[str, list[dict[str, Any]]] = {name: [] for name in TRANSACTION_ENTITIES}
        self.deleted: list[Deleted] = []
        self.account: dict[str, dict[str, Any]] = {}  # key -> account record
        self.receivable: dict[str, str] = {}  # currency -> A/R account id
        self._name_id = 0
        self._txn_id = 0
        self._doc_numbers: dict[str, int] = {}
        self._state = _State()
        self._build_lists()
        self._build_transactions()
        self._close_balances()

    # ---- helpers ---------------------------------------------------------------------------

    def money(self, value: Decimal | int | str, currency: str | None = None) -> Decimal:
        """`value` rounded (half up) to the currency's minor unit."""
        return half_up(Decimal(value), currency_exponent(currency or self.home))

    def scale(self, currency: str) -> Decimal:
        """Price multiplier so zero-decimal currencies get realistic amounts."""
        return Decimal(100) if currency_exponent(currency) == 0 else Decimal(1)

    def rate(self, currency: str, day: date) -> Decimal:
        """Home-currency value of one unit of `currency` on `day` (6 decimals, drifting)."""
        if currency == self.home:
            return Decimal(1)
        base = Decimal(USD_VALUE.get(currency, "1")) / Decimal(USD_VALUE.get(self.home, "1"))
        wobble = random.Random(f"fx:{self.config.seed}:{currency}:{day.toordinal()}")
        drift = Decimal(wobble.randint(-2000, 2000)) / Decimal(100_000)
        return (base * (1 + drift)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)

    def stamp(self, moment: datetime) -> str:
        """QuickBooks' timestamp form in the company's zone: 2024-01-05T09:13:22-08:00."""
        return moment.astimezone(self.zone).isoformat(timespec="seconds")

    def _moment(self, day: date) -> datetime:
        seconds = self.rng.randint(8 * 3600, 18 * 3600)
        return datetime.combine(day, time.min, self.zone) + timedelta(seconds=seconds)

    def _meta(self, created: datetime) -> dict[str, str]:
        return {"CreateTime": self.stamp(created), "LastUpdatedTime": self.stamp(created)}

    def _base(self, record_id: str, created: datetime) -> dict[str, Any]:
        return {"Id": record_id, "SyncToken": "0", "domain": "QBO", "sparse": False,
                "MetaData": self._meta(created)}  # fmt: skip

    def _touch(self, record: dict[str, Any], moment: datetime) -> None:
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"]["LastUpdatedTime"] = self.stamp(moment)

    def _doc(self, entity: str, first: int) -> str:
        number = self._doc_numbers.get(entity, first - 1) + 1
        self._doc_numbers[entity] = number
        return str(number)

    def acct(self, key: str) -> dict[str, str]:
        """Reference to the account with this generator key."""
        record = self.account[key]
        return ref(record["Id"], record["FullyQualifiedName"])

    def currency_ref(self, code: str) -> dict[str, str]:
        """CurrencyRef for an ISO code."""
        return ref(code, CURRENCY_NAMES.get(code, code))

    # ---- lists ---------------------------------------------------------------------------

    def _build_lists(self) -> None:
        cfg = self.config
        created = datetime.combine(cfg.start - timedelta(days=60), time(9), self.zone)
        accounts = self.lists["Account"]
        for n, (key, name, kind, subtype, klass, number, parent, active) in enumerate(
            ACCOUNTS, start=1
        ):
            record = self._base(str(n), created)
            full = name if parent is None else f"{self.account[parent]['Name']}:{name}"
            record.update({"Name": name, "SubAccount": parent is not None,
                           "FullyQualifiedName": full, "Active": active, "AccountType": kind,
                           "CurrentBalance": Decimal(0), "CurrentBalanceWithSubAccounts":
                           Decimal(0), "CurrencyRef": self.currency_ref(self.home)})  # fmt: skip
            if parent is not None:
                record["ParentRef"] = ref(self.account[parent]["Id"])
            if subtype is not None:
                record["AccountSubType"] = subtype
            if klass is not None:
                record["Classification"] = klass
            if number is not None:
                record["AcctNum"] = number
            accounts.append(record)
            self.account[key] = record
        self.receivable[self.home] = self.account["ar"]["Id"]
        for currency in self.foreign:
            record = self._base(str(len(accounts) + 1), created)
            name = f"Accounts Receivable (A/R) - {currency}"
            record.update({"Name": name, "SubAccount": False, "FullyQualifiedName": name,
                           "Active": True, "AccountType": "Accounts Receivable",
                           "AccountSubType": "AccountsReceivable", "Classification": "Asset",
                           "CurrentBalance": Decimal(0), "CurrentBalanceWithSubAccounts":
                           Decimal(0), "CurrencyRef": self.currency_ref(currency)})  # fmt: skip
            accounts.append(record)
            self.account[f"ar_{currency}"] = record
            self.receivable[currency] = record["Id"]

        for n, (name, days) in enumerate(TERMS, start=1):
            record = self._base(str(n), created)
            record.update({"Name": name, "Active": True, "Type": "STANDARD", "DueDays": days})
            self.lists["Term"].append(record)
        for n, (name, kind) in enumerate(PAYMENT_METHODS, start=1):
            record = self._base(str(n), created)
            record.update({"Name": name, "Active": True, "Type": kind})
            self.lists["PaymentMethod"].append(record)

        self.tax_rate_account: dict[str, str] = {}
        rate_refs = []
        for n, (agency, key, rate_name, value) in enumerate(AGENCIES, start=1):
            record = self._base(str(n), created)
            record.update({"DisplayName": agency, "TaxTrackedOnSales": True,
                           "TaxTrackedOnPurchases": False})  # fmt: skip
            self.lists["TaxAgency"].append(record)
            rate = self._base(str(n), created)
            rate.update({"Name": rate_name, "Description": rate_name, "Active": True,
                         "RateValue": Decimal(value), "AgencyRef": ref(str(n), agency),
                         "SpecialTaxType": "NONE", "DisplayType": "ReadOnly"})  # fmt: skip
            self.lists["TaxRate"].append(rate)
            self.tax_rate_account[rate["Id"]] = self.account[key]["Id"]
            rate_refs.append(ref(rate["Id"], rate_name))
        for code_id, name, taxable in (("TAX", "TAX", True), ("NON", "NON", False)):
            record = self._base(code_id, created)
            record.update({"Name": name, "Description": name, "Active": True,
                           "Taxable": taxable, "TaxGroup": False})  # fmt: skip
            self.lists["TaxCode"].append(record)
        group = self._base("2", created)
        group.update({"Name": "Springfield", "Description": "State and city sales tax",
                      "Active": True, "Taxable": True, "TaxGroup": True,
                      "SalesTaxRateList": {"TaxRateDetail": [
                          {"TaxRateRef": r, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
                          for r in rate_refs]},
                      "PurchaseTaxRateList": {"TaxRateDetail": []}})  # fmt: skip
        self.lists["TaxCode"].append(group)
        self.tax_code = group

        home_scale = self.scale(self.home)
        for n, (name, kind, price, cost, income, expense, taxable) in enumerate(ITEMS, start=1):
            record = self._base(str(n), created)
            record.update({"Name": name, "FullyQualifiedName": name, "Description": name,
                           "Active": True, "Taxable": taxable, "Type": kind,
                           "Sku": f"SKU-{n:03d}", "UnitPrice": Decimal(price) * home_scale,
                           "IncomeAccountRef": self.acct(income),
                           "TrackQtyOnHand": kind == "Inventory"})  # fmt: skip
            if cost is not None:
                record["PurchaseCost"] = self.money(Decimal(cost) * home_scale)
                record["ExpenseAccountRef"] = self.acct(expense or "cogs")
            if kind == "Inventory":
                record["AssetAccountRef"] = self.acct("inventory")
                record["QtyOnHand"] = Decimal(0)
                record["InvStartDate"] = (cfg.start - timedelta(days=60)).isoformat()
                self._state.stock[record["Id"]] = Decimal(0)
            self.lists["Item"].append(record)

        rng = self.rng
        n_customers = max(6, min(300, cfg.size // 8))
        for n in range(n_customers):
            currency = self.home
            if self.foreign and n % 5 == 4:
                currency = self.foreign[(n // 5) % len(self.foreign)]
            first, last = FIRST[n % len(FIRST)], LAST[(n * 7) % len(LAST)]
            company = f"{last}'s {TRADES[n % len(TRADES)]}" if n % 3 else None
            display = company or f"{first} {last}"
            display = f"{display} ({n + 1})" if n >= len(FIRST) else display
            record = self._base(self._next_name(), created)
            city, region, postal = CITIES[n % len(CITIES)]
            address = {"Id": str(100 + n), "Line1": f"{100 + n * 7} {STREETS[n % len(STREETS)]}",
                       "City": city, "CountrySubDivisionCode": region, "PostalCode": postal,
                       "Country": "USA"}  # fmt: skip
            email = f"{first}.{last}{n + 1}@example.com".lower()
            record.update({"GivenName": first, "FamilyName": last, "DisplayName": display,
                           "FullyQualifiedName": display, "PrintOnCheckName": display,
                           "Active": n != n_customers - 1, "Job": False,
                           "BillWithParent": False, "Taxable": currency == self.home and
                           n % 4 != 1, "BillAddr": address, "ShipAddr": dict(address),
                           "PrimaryEmailAddr": {"Address": email},
                           "PrimaryPhone": {"FreeFormNumber": f"(555) 555-{1000 + n:04d}"},
                           "SalesTermRef": ref(str(1 + rng.randrange(len(TERMS)))),
                           "CurrencyRef": self.currency_ref(currency), "Balance": Decimal(0),
                           "BalanceWithJobs": Decimal(0), "PreferredDeliveryMethod": "Email",
                           "IsProject": False})  # fmt: skip
            if company:
                record["CompanyName"] = company
            if n % 6 == 2:
                record["Notes"] = "Prefers invoices by email."
            self.lists["Customer"].append(record)

        n_vendors = max(4, min(len(VENDOR_NAMES), cfg.size // 20))
        for n in range(n_vendors):
            name = VENDOR_NAMES[n]
            record = self._base(self._next_name(), created)
            city, region, postal = CITIES[(n + 2) % len(CITIES)]
            record.update({"DisplayName": name, "CompanyName": name, "PrintOnCheckName": name,
                           "Active": True, "Vendor1099": n % 5 == 0,
                           "BillAddr": {"Id": str(500 + n), "Line1": f"{20 + n} Industrial Way",
                                        "City": city, "CountrySubDivisionCode": region,
                                        "PostalCode": postal},
                           "PrimaryEmailAddr": {"Address": f"billing{n + 1}@vendor.example"},
                           "PrimaryPhone": {"FreeFormNumber": f"(650) 555-{2000 + n:04d}"},
                           "TermRef": ref(str(2 + n % 3)), "Balance": Decimal(0),
                           "CurrencyRef": self.currency_ref(self.home)})  # fmt: skip
            if n % 4 == 1:
                record["AcctNum"] = f"V-{n + 1:04d}"
            self.lists["Vendor"].append(record)

        self.active_customers = [c for c in self.lists["Customer"] if c["Active"]]
        self.items = {i["Id"]: i for i in self.lists["Item"]}
        self.terms = {t["Id"]: t for t in self.lists["Term"]}

    def _next_name(self) -> str:
        self._name_id += 1
        return str(self._name_id)

    # ---- transactions --------------------------------------------------------------------

    def _new_txn(self, entity: str, day: date, currency: str | None = None,
                 doc_first: int | None = None) -> tuple[dict[str, Any], datetime]:  # fmt: skip
        self._txn_id += 1
        created = self._moment(day)
        record = self._base(str(self._txn_id), created)
        if doc_first is not None:
            record["DocNumber"] = self._doc(entity, doc_first)
        record["TxnDate"] = day.isoformat()
        record["CurrencyRef"] = self.currency_ref(currency or self.home)
        return record, created

    def _store(self, entity: str, record: dict[str, Any], created: datetime,
               deleted: bool = False) -> None:  # fmt: skip
        if deleted:
            when = created + timedelta(days=self.rng.randint(1, 6), hours=self.rng.randint(0, 5))
            self.deleted.append(Deleted(entity, record["Id"], when, record))
        else:
            self.txns[entity].append(record)

    def _voids(self) -> bool:
        return self.rng.randrange(100) < self.config.void_percent

    def _deletes(self) -> bool:
        return self.rng.randrange(100) < self.config.delete_percent

    def _build_transactions(self) -> None:
        cfg = self.config
        self._opening(cfg.start)
        kinds = [k for k, _ in KINDS]
        weights = [w for _, w in KINDS]
        makers = {"invoice": self._invoice, "payment": self._payment,
                  "sales_receipt": self._sales_receipt, "credit_memo": self._credit_memo,
                  "refund_receipt": self._refund_receipt, "bill": self._bill,
                  "bill_payment": self._bill_payment, "purchase": self._purchase,
                  "vendor_credit": self._vendor_credit, "deposit": self._deposit,
                  "transfer": self._transfer, "journal_entry": self._journal_entry}  # fmt: skip
        for i in range(cfg.size):
            day = cfg.start + timedelta(days=(i * cfg.days) // max(1, cfg.size))
            kind = self.rng.choices(kinds, weights)[0]
            if not makers[kind](day):
                # Nothing to pay or deposit yet: the book gets a new sale or bill instead.
                (self._invoice if kind in ("payment", "deposit", "credit_memo") else
                 self._bill)(day)  # fmt: skip

    # opening balances and stock

    def _opening(self, day: date) -> None:
        s = self.scale(self.home)
        lines = [("checking", "Debit", 50_000), ("equipment", "Debit", 15_000),
                 ("deposits", "Debit", 2_500), ("prepaid", "Debit", 6_000),
                 ("opening", "Credit", 53_500), ("loan", "Credit", 20_000)]  # fmt: skip
        self._journal(day, [(key, side, Decimal(amount) * s) for key, side, amount in lines],
                      "Opening balances")  # fmt: skip
        vendor = self.lists["Vendor"][0]
        item_lines = [(item, Decimal(100)) for item in self.lists["Item"]
                      if item["Type"] == "Inventory"]  # fmt: skip
        self._make_bill(day, vendor, [], item_lines)

    # sales side

    def _customer(self, *, home_only: bool = False) -> dict[str, Any]:
        pool = self.active_customers
        if home_only:
            pool = [c for c in pool if c["CurrencyRef"]["value"] == self.home]
        return pool[self.rng.randrange(len(pool))]

    def _sales_lines(self, currency: str, count: int, *, sell_stock: bool = True,
                     ) -> tuple[list[dict[str, Any]], Decimal, Decimal]:  # fmt: skip
        """Item lines, their subtotal and the taxable part of it."""
        rng, lines = self.rng, []
        subtotal = taxable = Decimal(0)
        exponent = currency_exponent(currency)
        scale = self.scale(currency) / self.scale(self.home)
        for n in range(count):
            item = self.lists["Item"][rng.randrange(len(self.lists["Item"]))]
            if item["Type"] == "Service":
                qty = Decimal(rng.randint(1, 12))
            else:
                qty = Decimal(rng.randint(1, 8))
                if item["Type"] == "Inventory" and sell_stock:
                    on_hand = self._state.stock[item["Id"]]
                    if on_hand < qty:
                        item, qty = self.items["1"], Decimal(rng.randint(1, 6))
                    else:
                        self._state.stock[item["Id"]] = on_hand - qty
            price = half_up(item["UnitPrice"] * scale, exponent)
            amount = half_up(qty * price, exponent)
            code = "TAX" if item["Taxable"] else "NON"
            lines.append({"Id": str(n + 1), "LineNum": n + 1, "Description": item["Description"],
                          "Amount": amount, "DetailType": "SalesItemLineDetail",
                          "SalesItemLineDetail": {"ItemRef": ref(item["Id"], item["Name"]),
                                                  "UnitPrice": price, "Qty": qty,
                                                  "ItemAccountRef": dict(item["IncomeAccountRef"]),
                                                  "TaxCodeRef": ref(code)}})  # fmt: skip
            subtotal += amount
            if item["Taxable"]:
                taxable += amount
        return lines, subtotal, taxable

    def _sales_form(self, entity: str, day: date, customer: dict[str, Any], *, lines_max: int,
                    discount_chance: int, sell_stock: bool = True,
                    doc_first: int = 1001) -> tuple[dict[str, Any], datetime]:  # fmt: skip
        """An invoice-shaped sales form: item lines, subtotal, discount, sales tax, totals."""
        currency = customer["CurrencyRef"]["value"]
        exponent = currency_exponent(currency)
        record, created = self._new_txn(entity, day, currency, doc_first)
        lines, subtotal, taxable = self._sales_lines(
            currency, self.rng.randint(1, lines_max), sell_stock=sell_stock)
        lines.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail",
                      "SubTotalLineDetail": {}})  # fmt: skip
        discount = Decimal(0)
        if self.rng.randrange(100) < discount_chance:
            percent = Decimal(self.rng.choice((5, 10)))
            discount = half_up(subtotal * percent / 100, exponent)
            lines.append({"Amount": discount, "DetailType": "DiscountLineDetail",
                          "DiscountLineDetail": {"PercentBased": True,
                                                 "DiscountPercent": percent,
                                                 "DiscountAccountRef": self.acct("discounts")}})
        tax_detail: dict[str, Any] = {"TotalTax": Decimal(0)}
        tax = Decimal(0)
        if customer["Taxable"] and taxable > 0:
            tax_lines = []
            for rate in self.lists["TaxRate"]:
                amount = half_up(taxable * rate["RateValue"] / 100, exponent)
                tax += amount
                tax_lines.append({"Amount": amount, "DetailType": "TaxLineDetail",
                                  "TaxLineDetail": {"TaxRateRef": ref(rate["Id"]),
                                                    "PercentBased": True,
                                                    "TaxPercent": rate["RateValue"],
                                                    "NetAmountTaxable": taxable}})  # fmt: skip
            tax_detail = {"TxnTaxCodeRef": ref(self.tax_code["Id"]), "TotalTax": tax,
                          "TaxLine": tax_lines}  # fmt: skip
        total = subtotal - discount + tax
        record.update({"Line": lines, "TxnTaxDetail": tax_detail,
                       "CustomerRef": ref(customer["Id"], customer["DisplayName"]),
                       "ApplyTaxAfterDiscount": False, "TotalAmt": total,
                       "PrintStatus": "NotSet", "EmailStatus": "NotSet"})  # fmt: skip
        if customer.get("BillAddr"):
            record["BillAddr"] = dict(customer["BillAddr"])
        if currency != self.home:
            rate = self.rate(currency, day)
            record["ExchangeRate"] = rate
            record["HomeTotalAmt"] = half_up(total * rate, self.exponent)
        else:
            record["ExchangeRate"] = Decimal(1)
        return record, created

    def _void_sales(self, record: dict[str, Any]) -> None:
        """What QuickBooks leaves of a voided sales form: zeroed lines, tax and totals."""
        for line in record["Line"]:
            line["Amount"] = Decimal(0)
            detail = line.get("SalesItemLineDetail")
            if detail is not None:
                detail["Qty"] = Decimal(0)
        detail = record["TxnTaxDetail"]
        detail["TotalTax"] = Decimal(0)
        for line in detail.get("TaxLine", ()):
            line["Amount"] = Decimal(0)
        record["TotalAmt"] = Decimal(0)
        if "HomeTotalAmt" in record:
            record["HomeTotalAmt"] = Decimal(0)
        if "Balance" in record:
            record["Balance"] = Decimal(0)
        if "HomeBalance" in record:
            record["HomeBalance"] = Decimal(0)
        record["PrivateNote"] = "Voided"

    def _restock(self, record: dict[str, Any]) -> None:
        for line in record["Line"]:
            detail = line.get("SalesItemLineDetail")
            if detail and self.items[detail["ItemRef"]["value"]]["Type"] == "Inventory":
                self._state.stock[detail["ItemRef"]["value"]] += detail["Qty"]

    def _invoice(self, day: date) -> bool:
        customer = self._customer()
        record, created = self._sales_form("Invoice", day, customer, lines_max=4,
                                           discount_chance=25)  # fmt: skip
        term = self.terms[customer["SalesTermRef"]["value"]]
        record["DueDate"] = (day + timedelta(days=term["DueDays"])).isoformat()
        record["SalesTermRef"] = ref(term["Id"], term["Name"])
        record["Balance"] = record["TotalAmt"]
        record["Deposit"] = Decimal(0)
        record["LinkedTxn"] = []
        if "HomeTotalAmt" in record:
            record["HomeBalance"] = record["HomeTotalAmt"]
        if customer.get("PrimaryEmailAddr"):
            record["BillEmail"] = dict(customer["PrimaryEmailAddr"])
        if self._voids():
            self._restock(record)
            self._void_sales(record)
            self._touch(record, created + timedelta(hours=self.rng.randint(1, 30)))
            self._store("Invoice", record, created)
        elif self._deletes():
            self._restock(record)
            self._store("Invoice", record, created, deleted=True)
        else:
            self._store("Invoice", record, created)
            self._state.open_invoices.setdefault(customer["Id"], []).append(record)
        return True

    def _sales_receipt(self, day: date) -> bool:
        customer = self._customer()
        record, created = self._sales_form("SalesReceipt", day, customer, lines_max=3,
                                           discount_chance=15, doc_first=5001)  # fmt: skip
        undeposited = customer["CurrencyRef"]["value"] == self.home and self.rng.random() < 0.6
        record["DepositToAccountRef"] = self.acct("undeposited" if undeposited else "checking")
        record["PaymentMethodRef"] = ref("1", "Cash")
        record["Balance"] = Decimal(0)
        if self._voids():
            self._restock(record)
            self._void_sales(record)
            self._touch(record, created + timedelta(hours=self.rng.randint(1, 30)))
            self._store("SalesReceipt", record, created)
        elif not undeposited and self._deletes():
            self._restock(record)
            self._store("SalesReceipt", record, created, deleted=True)
        else:
            self._store("SalesReceipt", record, created)
            if undeposited:
                self._state.undeposited.append(("SalesReceipt", record))
        return True

    def _credit_memo(self, day: date) -> bool:
        customer = self._customer(home_only=True)
        record, created = self._sales_form("CreditMemo", day, customer, lines_max=2,
                                           discount_chance=0, sell_stock=False,
                                           doc_first=8001)  # fmt: skip
        self._restock(record)  # returned goods go back on the shelf
        record["Balance"] = record["TotalAmt"]
        record["RemainingCredit"] = record["TotalAmt"]
        self._store("CreditMemo", record, created)
        self._state.open_credit_memos.setdefault(customer["Id"], []).append(record)
        return True

    def _refund_receipt(self, day: date) -> bool:
        customer = self._customer(home_only=True)
        record, created = self._sales_form("RefundReceipt", day, customer, lines_max=1,
                                           discount_chance=0, sell_stock=False,
                                           doc_first=9001)  # fmt: skip
        self._restock(record)
        record["DepositToAccountRef"] = self.acct("checking")
        record["PaymentMethodRef"] = ref("2", "Check")
        record["Balance"] = Decimal(0)
        self._store("RefundReceipt", record, created)
        return True

    def _payment(self, day: date) -> bool:
        state, rng = self._state, self.rng
        owing = [cid for cid, invoices in state.open_invoices.items() if invoices]
        if not owing:
            return False
        customer_id = owing[rng.randrange(len(owing))]
        customer = next(c for c in self.lists["Customer"] if c["Id"] == customer_id)
        currency = customer["CurrencyRef"]["value"]
        home = currency == self.home
        record, created = self._new_txn("Payment", day, currency)
        invoices = state.open_invoices[customer_id]
        chosen = invoices[: rng.randint(1, 2)] if home else invoices[:1]
        lines, applied = [], Decimal(0)
        partial = home and rng.random() < 0.25
        for invoice in chosen:
            amount = invoice["Balance"]
            if partial:
                amount = half_up(amount / 2, currency_exponent(currency))
            lines.append({"Amount": amount, "LinkedTxn": [
                {"TxnId": invoice["Id"], "TxnType": "Invoice"}]})  # fmt: skip
            applied += amount
        credits = state.open_credit_memos.get(customer_id) or []
        used_credit: list[tuple[dict[str, Any], Decimal]] = []
        if home and credits and rng.random() < 0.6:
            memo = credits[0]
            use = min(memo["Balance"], applied)
            if use > 0:
                lines.append({"Amount": use, "LinkedTxn": [
                    {"TxnId": memo["Id"], "TxnType": "CreditMemo"}]})  # fmt: skip
                used_credit.append((memo, use))
                applied -= use
        unapplied = Decimal(0)
        if home and rng.random() < 0.05:
            unapplied = self.money(rng.randint(5, 50) * self.scale(currency))
        total = applied + unapplied
        to_bank = not home or rng.random() < 0.3
        record.update({"CustomerRef": ref(customer["Id"], customer["DisplayName"]),
                       "DepositToAccountRef": self.acct("checking" if to_bank else
                                                        "undeposited"),
                       "ARAccountRef": ref(self.receivable[currency]),
                       "PaymentMethodRef": ref(str(rng.randint(1, 3))),
                       "PaymentRefNum": str(4000 + self._txn_id), "TotalAmt": total,
                       "UnappliedAmt": unapplied, "Line": lines,
                       "ProcessPayment": False})  # fmt: skip
        record["ExchangeRate"] = self.rate(currency, day)
        if self._voids():
            # Voided before anything was applied: the invoices stay open.
            record.update({"TotalAmt": Decimal(0), "UnappliedAmt": Decimal(0), "Line": [],
                           "PrivateNote": "Voided", "TxnStatus": "Voided"})  # fmt: skip
            self._touch(record, created + timedelta(hours=rng.randint(1, 30)))
            self._store("Payment", record, created)
            return True
        self._store("Payment", record, created)
        for line in lines:
            link = line["LinkedTxn"][0]
            target = next(d for d in (*chosen, *(m for m, _ in used_credit))
                          if d["Id"] == link["TxnId"])  # fmt: skip
            target["Balance"] -= line["Amount"]
            if "RemainingCredit" in target:
                target["RemainingCredit"] = target["Balance"]
            if "HomeBalance" in target:
                target["HomeBalance"] = (Decimal(0) if target["Balance"] == 0 else
                                         half_up(target["Balance"] * target["ExchangeRate"],
                                                 self.exponent))  # fmt: skip
            target.setdefault("LinkedTxn", []).append({"TxnId": record["Id"],
                                                       "TxnType": "Payment"})  # fmt: skip
            self._touch(target, created)
        state.open_invoices[customer_id] = [i for i in invoices if i["Balance"] > 0]
        state.open_credit_memos[customer_id] = [m for m in credits if m["Balance"] > 0]
        if not to_bank and total > 0:
            state.undeposited.append(("Payment", record))
        return True

    def _deposit(self, day: date) -> bool:
        state = self._state
        if not state.undeposited:
            return False
        batch, state.undeposited = state.undeposited[:10], state.undeposited[10:]
        record, created = self._new_txn("Deposit", day)
        lines, total = [], Decimal(0)
        for n, (entity, txn) in enumerate(batch, start=1):
            lines.append({"Id": str(n), "LineNum": n, "Amount": txn["TotalAmt"], "LinkedTxn": [
                {"TxnId": txn["Id"], "TxnType": entity, "TxnLineId": "0"}]})  # fmt: skip
            total += txn["TotalAmt"]
        if self.rng.random() < 0.3:
            interest = self.money(Decimal(self.rng.randint(100, 2500)) / 100 *
                                  self.scale(self.home))  # fmt: skip
            lines.append({"Id": str(len(lines) + 1), "LineNum": len(lines) + 1,
                          "Amount": interest, "DetailType": "DepositLineDetail",
                          "DepositLineDetail": {"AccountRef": self.acct("interest")},
                          "Description": "Interest"})  # fmt: skip
            total += interest
        record.update({"DepositToAccountRef": self.acct("checking"), "TotalAmt": total,
                       "Line": lines})  # fmt: skip
        self._store("Deposit", record, created)
        return True

    # purchase side

    def _vendor(self) -> dict[str, Any]:
        vendors = self.lists["Vendor"]
        return vendors[self.rng.randrange(len(vendors))]

    def _expense_lines(self, count: int) -> list[tuple[str, Decimal]]:
        keys = ("advertising", "rent", "gas_electric", "telephone", "office", "supplies",
                "utilities", "prepaid", "equipment")  # fmt: skip
        out = []
        for _ in range(count):
            key = keys[self.rng.randrange(len(keys))]
            cents = self.rng.randint(2_000, 150_000)
            out.append((key, self.money(Decimal(cents) / 100 * self.scale(self.home))))
        return out

    def _purchase_lines(self, expenses: list[tuple[str, Decimal]],
                        items: list[tuple[dict[str, Any], Decimal]]) -> tuple[list[Any], Decimal]:
        lines, total = [], Decimal(0)
        for key, amount in expenses:
            n = len(lines) + 1
            lines.append({"Id": str(n), "LineNum": n, "Description": self.account[key]["Name"],
                          "Amount": amount, "DetailType": "AccountBasedExpenseLineDetail",
                          "AccountBasedExpenseLineDetail": {
                              "AccountRef": self.acct(key), "BillableStatus": "NotBillable",
                              "TaxCodeRef": ref("NON")}})  # fmt: skip
            total += amount
        for item, qty in items:
            n = len(lines) + 1
            cost = item["PurchaseCost"]
            amount = self.money(cost * qty)
            lines.append({"Id": str(n), "LineNum": n, "Description": item["Description"],
                          "Amount": amount, "DetailType": "ItemBasedExpenseLineDetail",
                          "ItemBasedExpenseLineDetail": {
                              "ItemRef": ref(item["Id"], item["Name"]), "UnitPrice": cost,
                              "Qty": qty, "BillableStatus": "NotBillable",
                              "TaxCodeRef": ref("NON")}})  # fmt: skip
            total += amount
            if item["Type"] == "Inventory":
                self._state.stock[item["Id"]] += qty
        return lines, total

    def _make_bill(self, day: date, vendor: dict[str, Any], expenses: list[Any],
                   items: list[Any], *, deletable: bool = False) -> dict[str, Any]:
        record, created = self._new_txn("Bill", day, doc_first=7001)
        term = self.terms[vendor["TermRef"]["value"]]
        lines, total = self._purchase_lines(expenses, items)
        record.update({"VendorRef": ref(vendor["Id"], vendor["DisplayName"]),
                       "APAccountRef": self.acct("ap"), "SalesTermRef": ref(term["Id"]),
                       "DueDate": (day + timedelta(days=term["DueDays"])).isoformat(),
                       "Line": lines, "TotalAmt": total, "Balance": total,
                       "LinkedTxn": []})  # fmt: skip
        if deletable and self._deletes():
            for item, qty in items:
                if item["Type"] == "Inventory":
                    self._state.stock[item["Id"]] -= qty
            self._store("Bill", record, created, deleted=True)
            return record
        self._store("Bill", record, created)
        self._state.open_bills.setdefault(vendor["Id"], []).append(record)
        return record

    def _bill(self, day: date) -> bool:
        rng = self.rng
        expenses = self._expense_lines(rng.randint(0, 2))
        items: list[tuple[dict[str, Any], Decimal]] = []
        if not expenses or rng.random() < 0.35:
            stocked = [i for i in self.lists["Item"] if "PurchaseCost" in i]
            item = stocked[rng.randrange(len(stocked))]
            items.append((item, Decimal(rng.randint(10, 60))))
        self._make_bill(day, self._vendor(), expenses, items, deletable=True)
        return True

    def _bill_payment(self, day: date) -> bool:
        state, rng = self._state, self.rng
        owing = [vid for vid, bills in state.open_bills.items() if bills]
        if not owing:
            return False
        vendor_id = owing[rng.randrange(len(owing))]
        vendor = next(v for v in self.lists["Vendor"] if v["Id"] == vendor_id)
        bills = state.open_bills[vendor_id]
        chosen = bills[: rng.randint(1, 2)]
        partial = rng.random() < 0.2
        lines, total = [], Decimal(0)
        for bill in chosen:
            amount = self.money(bill["Balance"] / 2) if partial else bill["Balance"]
            lines.append({"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"],
                                                           "TxnType": "Bill"}]})  # fmt: skip
            total += amount
        credits = state.open_vendor_credits.get(vendor_id) or []
        used: list[dict[str, Any]] = []
        if credits and rng.random() < 0.7:
            credit = credits[0]
            use = min(credit["Balance"], total)
            if use > 0:
                lines.append({"Amount": use, "LinkedTxn": [{"TxnId": credit["Id"],
                                                            "TxnType": "VendorCredit"}]})
                used.append(credit)
                total -= use
        record, created = self._new_txn("BillPayment", day, doc_first=3001)
        by_card = rng.random() < 0.3
        record.update({"VendorRef": ref(vendor["Id"], vendor["DisplayName"]),
                       "APAccountRef": self.acct("ap"), "TotalAmt": total, "Line": lines})
        if by_card:
            record["PayType"] = "CreditCard"
            record["CreditCardPayment"] = {"CCAccountRef": self.acct("card")}
        else:
            record["PayType"] = "Check"
            record["CheckPayment"] = {"BankAccountRef": self.acct("checking"),
                                      "PrintStatus": "NotSet"}  # fmt: skip
        if self._voids():
            record.update({"TotalAmt": Decimal(0), "Line": [], "PrivateNote": "Voided"})
            self._touch(record, created + timedelta(hours=rng.randint(1, 30)))
            self._store("BillPayment", record, created)
            return True
        self._store("BillPayment", record, created)
        if by_card:
            state.card_balance += total
        targets = {d["Id"]: d for d in (*chosen, *used)}
        for line in lines:
            target = targets[line["LinkedTxn"][0]["TxnId"]]
            target["Balance"] -= line["Amount"]
            target.setdefault("LinkedTxn", []).append({"TxnId": record["Id"],
                                                       "TxnType": "BillPayment"})  # fmt: skip
            self._touch(target, created)
        state.open_bills[vendor_id] = [b for b in bills if b["Balance"] > 0]
        state.open_vendor_credits[vendor_id] = [c for c in credits if c["Balance"] > 0]
        return True

    def _vendor_credit(self, day: date) -> bool:
        vendor = self._vendor()
        record, created = self._new_txn("VendorCredit", day, doc_first=6001)
        lines, total = self._purchase_lines(self._expense_lines(1), [])
        record.update({"VendorRef": ref(vendor["Id"], vendor["DisplayName"]),
                       "APAccountRef": self.acct("ap"), "Line": lines, "TotalAmt": total,
                       "Balance": total})  # fmt: skip
        self._store("VendorCredit", record, created)
        self._state.open_vendor_credits.setdefault(vendor["Id"], []).append(record)
        return True

    def _purchase(self, day: date) -> bool:
        rng = self.rng
        by_card = rng.random() < 0.4
        record, created = self._new_txn("Purchase", day, doc_first=None)
        expenses = self._expense_lines(rng.randint(1, 2))
        items: list[tuple[dict[str, Any], Decimal]] = []
        if rng.random() < 0.15:
            items.append((self.items["6"], Decimal(rng.randint(5, 30))))
        credit = by_card and rng.random() < 0.1
        if credit:
            items = []  # a card refund of an expense, not a return of stock
        lines, total = self._purchase_lines(expenses, items)
        vendor = self._vendor()
        record.update({"AccountRef": self.acct("card" if by_card else "checking"),
                       "PaymentType": "CreditCard" if by_card else rng.choice(("Cash", "Check")),
                       "EntityRef": {**ref(vendor["Id"], vendor["DisplayName"]),
                                     "type": "Vendor"},
                       "Line": lines, "TotalAmt": total, "Credit": credit})  # fmt: skip
        if record["PaymentType"] == "Check":
            record["DocNumber"] = self._doc("Check", 2001)
        if not by_card and self._voids():
            for line in lines:
                line["Amount"] = Decimal(0)
                item_detail = line.get("ItemBasedExpenseLineDetail")
                if item_detail:
                    item_detail["Qty"] = Decimal(0)
            record.update({"TotalAmt": Decimal(0), "PrivateNote": "Voided"})
            self._touch(record, created + timedelta(hours=rng.randint(1, 30)))
            self._store("Purchase", record, created)
            return True
        if self._deletes():
            self._store("Purchase", record, created, deleted=True)
            return True
        self._store("Purchase", record, created)
        if by_card:
            self._state.card_balance += -total if credit else total
        return True

    def _transfer(self, day: date) -> bool:
        state, rng = self._state, self.rng
        record, created = self._new_txn("Transfer", day)
        if state.card_balance > 0 and rng.random() < 0.6:
            source, target, amount = "checking", "card", state.card_balance
            state.card_balance = Decimal(0)
        else:
            amount = self.money(rng.randint(5, 40) * 100 * self.scale(self.home))
            source, target = "checking", "savings"
            if state.savings_balance >= amount and rng.random() < 0.4:
                source, target = "savings", "checking"
        record.update({"FromAccountRef": self.acct(source), "ToAccountRef": self.acct(target),
                       "Amount": amount})  # fmt: skip
        deleted = target != "card" and self._deletes()
        self._store("Transfer", record, created, deleted=deleted)
        if not deleted:
            state.savings_balance += amount if target == "savings" else (
                -amount if source == "savings" else Decimal(0))  # fmt: skip
        return True

    def _journal(self, day: date, lines: list[tuple[str, str, Decimal]], note: str,
                 *, deletable: bool = False) -> None:  # fmt: skip
        record, created = self._new_txn("JournalEntry", day, doc_first=1)
        out, total = [], Decimal(0)
        for n, (key, side, amount) in enumerate(lines, start=1):
            out.append({"Id": str(n - 1), "Description": note, "Amount": amount,
                        "DetailType": "JournalEntryLineDetail",
                        "JournalEntryLineDetail": {"PostingType": side,
                                                   "AccountRef": self.acct(key)}})  # fmt: skip
            if side == "Debit":
                total += amount
        record.update({"Adjustment": False, "PrivateNote": note, "Line": out,
                       "TotalAmt": total})  # fmt: skip
        self._store("JournalEntry", record, created, deleted=deletable and self._deletes())

    def _journal_entry(self, day: date) -> bool:
        rng, s = self.rng, self.scale(self.home)
        pick = rng.randrange(4)
        if pick == 0:
            amount = self.money(500 * s)
            lines = [("rent", "Debit", amount), ("prepaid", "Credit", amount)]
            note = "Prepaid rent used"
        elif pick == 1:
            amount = self.money(Decimal(rng.randint(1500, 4000)) / 100 * s)
            lines = [("bank_charges", "Debit", amount), ("checking", "Credit", amount)]
            note = "Bank service charges"
        elif pick == 2:
            amount = self.money(Decimal(rng.randint(200, 2000)) / 100 * s)
            lines = [("savings", "Debit", amount), ("interest", "Credit", amount)]
            note = "Interest on savings"
            self._state.savings_balance += amount
        else:
            a = self.money(Decimal(rng.randint(3000, 9000)) / 100 * s)
            b = self.money(Decimal(rng.randint(1000, 5000)) / 100 * s)
            lines = [("telephone", "Debit", a), ("office", "Debit", b), ("card", "Credit", a + b)]
            self._state.card_balance += a + b
            note = "Card charges reclassified"
        # Entries that feed a running balance (savings, card) are never deleted.
        self._journal(day, lines, note, deletable=pick in (0, 1))
        return True

    # ---- balances ------------------------------------------------------------------------

    def _close_balances(self) -> None:
        """Customer and vendor open balances and stock, as QuickBooks shows them now."""
        owed: dict[str, Decimal] = {}
        for invoice in self.txns["Invoice"]:
            cid = invoice["CustomerRef"]["value"]
            owed[cid] = owed.get(cid, Decimal(0)) + invoice["Balance"]
        for memo in self.txns["CreditMemo"]:
            cid = memo["CustomerRef"]["value"]
            owed[cid] = owed.get(cid, Decimal(0)) - memo["Balance"]
        for payment in self.txns["Payment"]:
            cid = payment["CustomerRef"]["value"]
            owed[cid] = owed.get(cid, Decimal(0)) - payment["UnappliedAmt"]
        for customer in self.lists["Customer"]:
            balance = owed.get(customer["Id"], Decimal(0))
            customer["Balance"] = customer["BalanceWithJobs"] = balance
        due: dict[str, Decimal] = {}
        for bill in self.txns["Bill"]:
            vid = bill["VendorRef"]["value"]
            due[vid] = due.get(vid, Decimal(0)) + bill["Balance"]
        for credit in self.txns["VendorCredit"]:
            vid = credit["VendorRef"]["value"]
            due[vid] = due.get(vid, Decimal(0)) - credit["Balance"]
        for vendor in self.lists["Vendor"]:
            vendor["Balance"] = due.get(vendor["Id"], Decimal(0))
        for item_id, qty in self._state.stock.items():
            self.items[item_id]["QtyOnHand"] = qty

    # ---- company records -----------------------------------------------------------------

    def company_info(self) -> dict[str, Any]:
        """The CompanyInfo record (its Id is 1; GET /companyinfo/{realmId} answers it)."""
        cfg = self.config
        created = datetime.combine(cfg.start - timedelta(days=90), time(9), self.zone)
        record = self._base("1", created)
        address = {"Id": "1", "Line1": "123 Sierra Way", "City": "San Pablo",
                   "CountrySubDivisionCode": "CA", "PostalCode": "87999"}  # fmt: skip
        record.update({"CompanyName": cfg.company_name, "LegalName": cfg.company_name,
                       "CompanyAddr": address, "LegalAddr": dict(address),
                       "CustomerCommunicationAddr": dict(address), "Country": "US",
                       "Email": {"Address": "books@sandbox-trading.example"},
                       "WebAddr": {}, "SupportedLanguages": "en",
                       "FiscalYearStartMonth": MONTHS[cfg.fiscal_year_start_month - 1],
                       "CompanyStartDate": (cfg.start - timedelta(days=90)).isoformat(),
                       "NameValue": [{"Name": "NeoEnabled", "Value": "true"},
                                     {"Name": "IndustryType", "Value": "Retail"}]})
        return record

    def preferences(self) -> dict[str, Any]:
        """The Preferences record: home currency, multicurrency, fiscal year start."""
        cfg = self.config
        created = datetime.combine(cfg.start - timedelta(days=90), time(9), self.zone)
        record = self._base("1", created)
        record.update({
            "AccountingInfoPrefs": {"FirstMonthOfFiscalYear":
                                    MONTHS[cfg.fiscal_year_start_month - 1],
                                    "UseAccountNumbers": True, "TaxYearMonth": "January",
                                    "BookCloseDate": None, "ClassTrackingPerTxn": False},
            "CurrencyPrefs": {"MultiCurrencyEnabled": bool(self.foreign),
                              "HomeCurrency": {"value": self.home}},
            "SalesFormsPrefs": {"AllowDiscount": True, "AllowDeposit": True,
                                "DefaultTerms": ref("3")},
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": False},
        })  # fmt: skip
        return record
