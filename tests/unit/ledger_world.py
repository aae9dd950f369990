"""A small ledger world for layer tests: currencies, issuers and customer accounts, no HTTP."""

from dataclasses import dataclass
from decimal import Decimal

from wallet import accounts, catalog, clock, ledger, ledger_store, requests_store
from wallet.auth import Caller
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.models.accounts import NewCoin
from wallet.models.catalog import Issuer, NewCurrency, NewIssuer
from wallet.models.requests import HistoryStep, MoneyRequest, PaymentMethod, RequestKind, RequestStatus
from wallet.models.roles import OrganizationType, Role

STAFF = Caller("staff", "ops@wallet.test", "system", OrganizationType.SYSTEM, Role.SERVICE)


@dataclass
class LedgerWorld:
    issuers: dict[str, Issuer]

    def customer(self, name: str) -> Caller:
        return Caller(
            f"user-{name}", f"{name}@example.com", f"org-{name}", OrganizationType.INDIVIDUAL, Role.INDIVIDUAL
        )

    def open_account(self, owner: str, currency: str = "EUR") -> str:
        return accounts.open_coin(self.customer(owner), NewCoin(issuer_id=self.issuers[currency].id)).coin_serial

    def issuer_account(self, currency: str, kind: SystemAccount, business_process_id: str) -> str:
        return ledger.system_account(self.issuers[currency].id, kind, ledger.shard_for(business_process_id))

    def credit(self, serial: str, amount: str, currency: str = "EUR", process_id: str | None = None) -> ledger.Posted:
        """Money in from the issuer's emission account."""
        process_id = process_id or f"credit-{serial}-{amount}-{id(object())}"
        emission = self.issuer_account(currency, SystemAccount.EMISSION, process_id)
        value = Decimal(amount)
        legs = (Leg(emission, -value), Leg(ledger.customer_account(serial), value))
        return ledger.post(Posting(process_id, "TEST_CREDIT", currency, legs))

    def pending_request(self, request_id: str, kind: RequestKind, serial: str, amount: str) -> MoneyRequest:
        """A request whose screening passed, waiting for a decision (no workflow behind it; a
        withdrawal's hold is posted as create_withdrawal posts it)."""
        account = ledger_store.get_account_item(ledger.customer_account(serial))
        assert account is not None
        now = clock.iso(clock.now())
        value = Decimal(amount)
        request = MoneyRequest(
            request_identifier=request_id,
            kind=kind,
            payment_method=PaymentMethod.BANK,
            status=RequestStatus.PENDING,
            coin_serial=serial,
            currency=account["currency"],
            amount=value,
            commission=Decimal(0),
            total_amount=value,
            bank_id="bank-1",
            organization_id=account["organizationId"],
            issuer_id=account["issuerId"],
            created_at=now,
            updated_at=now,
            history=[HistoryStep(status=RequestStatus.PENDING, at=now)],
            fractional_digits=int(account["fractionalDigits"]),
        )
        creation = requests_store.creation(request, fingerprint="-")
        if kind == RequestKind.TOP_UP:
            requests_store.write(creation)
            return request
        key = ledger.customer_account(serial)
        hold = (Leg(key, -value), Leg(key, value, ledger.Bucket.HELD))
        ledger.post(Posting(f"{request_id}:HOLD", "WITHDRAWAL_HOLD", request.currency, hold, guard=creation))
        return request

    def balance(self, serial: str) -> tuple[Decimal, Decimal]:
        return ledger.balance_of([ledger.customer_account(serial)])

    def system_balance(self, currency: str, kind: SystemAccount) -> Decimal:
        available, held = ledger.balance_of(ledger.system_shards(self.issuers[currency].id, kind))
        return available + held


def build_world() -> LedgerWorld:
    issuers = {}
    for code, digits in (("EUR", 2), ("JPY", 0)):
        catalog.add_currency(NewCurrency(code=code, name=code, fractional_digits=digits), STAFF)
        issuers[code] = catalog.add_issuer(NewIssuer(currency_code=code, name=f"Issuer {code}"), STAFF)
    return LedgerWorld(issuers)
