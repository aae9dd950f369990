"""An account's life after opening: frozen and unfrozen by staff, closed for good at zero balance.

Each change is a conditional write on the very read it was decided from (status, balances, version),
so a posting and a change of status never pass each other unseen."""

from botocore.exceptions import ClientError

from wallet import accounts, audit, events, ledger, ledger_store
from wallet.auth import Caller
from wallet.errors import BusinessRuleViolation, Contention, Forbidden
from wallet.ledger import WrongState
from wallet.ledger_store import AccountState
from wallet.models.account_status import AccountStatus
from wallet.models.accounts import Coin
from wallet.models.events import EventType
from wallet.models.roles import STAFF_ROLES, Role

MAX_ATTEMPTS = 5
EVENTS = {
    AccountStatus.FROZEN: EventType.COIN_FROZEN,
    AccountStatus.ACTIVE: EventType.COIN_UNFROZEN,
    AccountStatus.CLOSED: EventType.COIN_CLOSED,
}


def freeze(caller: Caller, coin_serial: str) -> Coin:
    caller.require(*STAFF_ROLES)
    return _change(caller, coin_serial, AccountStatus.ACTIVE, AccountStatus.FROZEN)


def unfreeze(caller: Caller, coin_serial: str) -> Coin:
    caller.require(*STAFF_ROLES)
    return _change(caller, coin_serial, AccountStatus.FROZEN, AccountStatus.ACTIVE)


def close(caller: Caller, coin_serial: str) -> Coin:
    """By its owner or an administrator, only at zero available and held balance; final."""
    item = ledger.visible_account(caller, coin_serial)
    if item["organizationId"] != caller.organization_id and caller.role != Role.ADMINISTRATOR:
        raise Forbidden("Only the account's owner or an administrator closes it")
    return _change(caller, coin_serial, AccountStatus.ACTIVE, AccountStatus.CLOSED)


def _change(caller: Caller, coin_serial: str, expected: AccountStatus, new: AccountStatus) -> Coin:
    """Asked again once done, it answers the account as it is (the same change is not made twice).
    Its event and audit entry ride in the same transaction."""
    key = ledger.customer_account(coin_serial)
    for _ in range(MAX_ATTEMPTS):
        state = _read(key)
        status = AccountStatus(state.item["status"])
        if status == new:
            return accounts.coin_of(state.item)
        if status != expected:
            raise WrongState(f"The account is {status.value}, not {expected.value}")
        if new == AccountStatus.CLOSED and (state.available or state.held):
            raise BusinessRuleViolation(
                "Only an account at zero available and held balance can be closed", code="BALANCE_NOT_ZERO"
            )
        changed = accounts.coin_of(state.item | {"status": new.value, "version": state.version + 1})
        event = events.outbox_write(
            EVENTS[new],
            f"{coin_serial}:{state.version}:{new.value}",  # one change of this account's version
            changed.model_dump(mode="json", by_alias=True),
            ordering_key=coin_serial,
            organization_ids=[state.item["organizationId"]],
            sequences={coin_serial: state.version + 1},
        )
        entry = audit.by(caller, EVENTS[new].name, coin_serial)
        try:
            ledger_store.write_operation([ledger_store.status_update(state, new.value), event, entry])
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                continue  # money moved since the read: decide again
            raise
        return changed
    raise Contention("The account is being changed by other operations; try again")


def _read(key: str) -> AccountState:
    state = ledger_store.read_accounts([key]).get(key)
    if state is None:
        raise ledger.no_account("coinSerial")
    return state
