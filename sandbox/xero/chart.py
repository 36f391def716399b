"""The chart of accounts and tax rates every generated organisation starts with.

Modelled on Xero's default chart (codes 090-970): Types, Classes and SystemAccount flags as
Xero reports them. The tax account's name follows the base currency's tax (GST, VAT, Sales
Tax); PAYG Withholdings Payable carries Xero's `PAYG` type, which has no obvious BigLedger
standard account, and Travel - International is archived.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Xero Type -> Class.
TYPE_CLASS: dict[str, str] = {
    "BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET", "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY", "LIABILITY": "LIABILITY", "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "REVENUE": "REVENUE", "SALES": "REVENUE", "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE", "EXPENSE": "EXPENSE", "OVERHEADS": "EXPENSE",
    "DEPRECIATN": "EXPENSE",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """One account of the template chart."""

    code: str
    name: str
    type: str
    system: str | None = None  # Xero SystemAccount
    tax: str = "NONE"  # default TaxType key: "output", "input", "NONE", "exempt"
    description: str = ""
    status: str = "ACTIVE"
    bank_number: str | None = None
    enable_payments: bool = False


TAX_ACCOUNT = "{tax}"  # placeholder: the tax account's name comes from the tax profile

CHART: tuple[AccountSpec, ...] = (
    AccountSpec("090", "Business Bank Account", "BANK", bank_number="0209087654321050"),
    AccountSpec("091", "Business Savings Account", "BANK", bank_number="0209087654321051"),
    AccountSpec("200", "Sales", "REVENUE", tax="output",
                description="Income from any normal business activity"),
    AccountSpec("260", "Other Revenue", "REVENUE", tax="output",
                description="Any other income that does not relate to normal business"),
    AccountSpec("270", "Interest Income", "OTHERINCOME", tax="exempt"),
    AccountSpec("310", "Cost of Goods Sold", "DIRECTCOSTS", tax="input"),
    AccountSpec("400", "Advertising", "OVERHEADS", tax="input"),
    AccountSpec("404", "Bank Fees", "OVERHEADS", tax="exempt"),
    AccountSpec("412", "Consulting & Accounting", "EXPENSE", tax="input"),
    AccountSpec("416", "Depreciation", "DEPRECIATN"),
    AccountSpec("420", "Entertainment", "OVERHEADS", tax="input"),
    AccountSpec("429", "General Expenses", "OVERHEADS", tax="input"),
    AccountSpec("449", "Motor Vehicle Expenses", "OVERHEADS", tax="input"),
    AccountSpec("469", "Rent", "OVERHEADS", tax="input"),
    AccountSpec("477", "Wages and Salaries", "EXPENSE"),
    AccountSpec("485", "Subscriptions", "OVERHEADS", tax="input"),
    AccountSpec("489", "Telephone & Internet", "OVERHEADS", tax="input"),
    AccountSpec("493", "Travel - National", "OVERHEADS", tax="input"),
    AccountSpec("494", "Travel - International", "OVERHEADS", status="ARCHIVED"),
    AccountSpec("610", "Accounts Receivable", "CURRENT", system="DEBTORS",
                description="Outstanding invoices the company has issued out to the client"),
    AccountSpec("620", "Prepayments", "PREPAYMENT"),
    AccountSpec("630", "Inventory", "INVENTORY", tax="input"),
    AccountSpec("710", "Office Equipment", "FIXED", tax="input"),
    AccountSpec("711", "Less Accumulated Depreciation on Office Equipment", "FIXED"),
    AccountSpec("720", "Computer Equipment", "FIXED", tax="input"),
    AccountSpec("800", "Accounts Payable", "CURRLIAB", system="CREDITORS",
                description="Outstanding invoices the company has received from suppliers"),
    AccountSpec("814", "Wages Payable - Payroll", "CURRLIAB", system="WAGEPAYABLES"),
    AccountSpec("820", TAX_ACCOUNT, "CURRLIAB", system="GST"),
    AccountSpec("826", "PAYG Withholdings Payable", "PAYG"),
    AccountSpec("840", "Historical Adjustment", "CURRLIAB", system="HISTORICAL"),
    AccountSpec("850", "Suspense", "CURRLIAB"),
    AccountSpec("860", "Rounding", "CURRLIAB", system="ROUNDING"),
    AccountSpec("877", "Tracking Transfers", "CURRLIAB", system="TRACKINGTRANSFERS"),
    AccountSpec("881", "Owner A Funds Introduced", "EQUITY"),
    AccountSpec("900", "Loan", "TERMLIAB"),
    AccountSpec("960", "Retained Earnings", "EQUITY", system="RETAINEDEARNINGS"),
    AccountSpec("970", "Owner A Share Capital", "EQUITY"),
)

REVENUE_CODES = ("200", "200", "200", "200", "260")
BILL_CODES = ("310", "310", "400", "412", "420", "429", "449", "469", "485", "489", "493",
              "630", "710", "720")  # fmt: skip
SPEND_CODES = ("404", "404", "429", "449", "469", "485", "489", "493", "720")


@dataclass(frozen=True, slots=True)
class TaxProfile:
    """A country's sales tax as Xero sets it up: the tax account's name, the standard rate
    and the TaxType codes of its output (sales) and input (purchases) rates."""

    name: str  # "GST", "VAT", "Sales Tax"
    rate: Decimal  # percent
    output_type: str
    input_type: str
    country: str
    timezone: str


TAX_PROFILES: dict[str, TaxProfile] = {
    "NZD": TaxProfile("GST", Decimal("15"), "OUTPUT2", "INPUT2", "NZ", "NEWZEALANDSTANDARDTIME"),
    "AUD": TaxProfile("GST", Decimal("10"), "OUTPUT", "INPUT", "AU", "AUSEASTERNSTANDARDTIME"),
    "GBP": TaxProfile("VAT", Decimal("20"), "OUTPUT2", "INPUT2", "GB", "GMTSTANDARDTIME"),
    "USD": TaxProfile("Sales Tax", Decimal("8.875"), "OUTPUT", "INPUT", "US",
                      "EASTERNSTANDARDTIME"),
    "MYR": TaxProfile("SST", Decimal("6"), "OUTPUT", "INPUT", "MY", "SINGAPORESTANDARDTIME"),
}
DEFAULT_TAX = TaxProfile("GST", Decimal("10"), "OUTPUT", "INPUT", "SG", "SINGAPORESTANDARDTIME")


def tax_profile(currency: str) -> TaxProfile:
    """The tax an organisation with this base currency charges."""
    return TAX_PROFILES.get(currency, DEFAULT_TAX)


def tax_rates(profile: TaxProfile) -> list[dict[str, object]]:
    """Xero's TaxRates for the profile: output, input, zero-rated, exempt, none."""
    name = profile.name
    zero = Decimal("0.0000")
    rate = profile.rate.quantize(Decimal("0.0000"))

    def entry(label: str, tax_type: str, value: Decimal, report: str) -> dict[str, object]:
        return {
            "Name": label, "TaxType": tax_type, "ReportTaxType": report, "Status": "ACTIVE",
            "CanApplyToAssets": True, "CanApplyToEquity": True, "CanApplyToExpenses": True,
            "CanApplyToLiabilities": True, "CanApplyToRevenue": True,
            "DisplayTaxRate": value, "EffectiveRate": value,
            "TaxComponents": [{"Name": name, "Rate": value, "IsCompound": False,
                               "IsNonRecoverable": False}],
        }  # fmt: skip

    return [
        entry(f"{name} on Income", profile.output_type, rate, "OUTPUT"),
        entry(f"{name} on Expenses", profile.input_type, rate, "INPUT"),
        entry(f"Zero Rated {name}", "ZERORATEDOUTPUT", zero, "OUTPUT"),
        entry(f"{name} Exempt", "EXEMPTOUTPUT", zero, "EXEMPTOUTPUT"),
        entry(f"No {name}", "NONE", zero, "NONE"),
    ]
