"""The back office's read of one operation with its legs, as its parties see it. (The queues of requests are
payments' reads.)"""

from typing import Any

from wallet import catalog_store, ledger, ledger_store
from wallet.auth import Caller
from wallet.errors import NotFound
from wallet.models.operations import Operation, OperationLeg
from wallet.money import in_digits

# A process record's money figures (legs aside).
FIGURES = ("amount", "commission", "refundedTotal")


def operation(caller: Caller, business_process_id: str) -> Operation:
    """A party sees its own legs; staff see all. Anyone else learns nothing (404)."""
    record = ledger_store.get_process(business_process_id)
    if record is None:
        raise _absent()
    customer_keys = [leg["account"] for leg in record["legs"] if ledger.is_customer_account(leg["account"])]
    owners = {key: state.item["organizationId"] for key, state in ledger_store.read_accounts(customer_keys).items()}
    shown = [leg for leg in record["legs"] if caller.is_staff or owners.get(leg["account"]) == caller.organization_id]
    if not shown:
        raise _absent()
    currency = catalog_store.get_currency(str(record["currency"]))
    digits = currency.fractional_digits if currency else 0
    # DynamoDB gives the figures back trimmed ("10.00" as 10): shown in the currency's digits.
    figures = {name: in_digits(record[name], digits) for name in FIGURES if record.get(name) is not None}
    return Operation.model_validate(
        {
            **record,
            **figures,
            "status": record.get("status", "COMPLETED"),
            "legs": [_leg(leg, digits) for leg in shown],
        }
    )


def _leg(leg: dict[str, Any], digits: int) -> OperationLeg:
    account = str(leg["account"])
    amount = in_digits(leg["amount"], digits)
    if ledger.is_customer_account(account):
        coin_serial = account.removeprefix(ledger.CUSTOMER_PREFIX)
        return OperationLeg(coin_serial=coin_serial, bucket=str(leg["bucket"]), amount=amount)
    return OperationLeg(account=account, bucket=str(leg["bucket"]), amount=amount)


def _absent() -> NotFound:
    return NotFound("No such operation", details=[{"field": "businessProcessId", "issue": "not found"}])
