"""The double-entry ledger: the one entry point every money movement goes through.

An operation is a set of legs that sums to zero, written with one TransactWriteItems: the
business-process record (never twice), each customer balance guarded by the version it was read
at, each system account shard incremented, one journal entry per leg, and the request's state
where a request is involved. Balances are never written on the strength of an unguarded read.
"""

import hashlib
import itertools
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

from wallet import clock, ledger_store, outbox_store
from wallet.config import settings
from wallet.dynamo import MAX_TRANSACTION_ITEMS, TRANSIENT_REASONS, Item, cancellation_codes
from wallet.errors import BusinessRuleViolation, Conflict, Contention, NotFound, WalletError
from wallet.ledger_store import AccountState
from wallet.models.account_status import AccountStatus

if TYPE_CHECKING:
    from wallet.auth import Caller  # only as a type: the workflow's steps, which post, verify no token

# A hot account (a merchant in a sale) is written by one transaction at a time: contenders back off with
# full jitter and keep trying for a time, not a count, well inside the functions' 10 s timeout. The cap sets
# how many tries the budget holds (about 6 / 0.125 once capped): the unluckiest payment of a burst of 256
# needs up to ~35, which a 0.5 s cap (~24) did not always give.
RETRY_BUDGET_SECONDS = 6.0
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.25
RETRYABLE_CODES = {"ConditionalCheckFailed", *TRANSIENT_REASONS}


class Bucket(StrEnum):
    AVAILABLE = "available"
    HELD = "held"


class SystemAccount(StrEnum):
    EMISSION = "EMISSION"
    COMMISSION = "COMMISSION"
    TRANSIT = "TRANSIT"


CUSTOMER_PREFIX = "COIN#"


def customer_account(coin_serial: str) -> str:
    return f"{CUSTOMER_PREFIX}{coin_serial}"


def is_customer_account(account: str) -> bool:
    return account.startswith(CUSTOMER_PREFIX)


def visible_account(caller: "Caller", coin_serial: str, field: str = "coinSerial") -> Item:
    """The account if the caller may see it; someone else's is as absent as an unknown one."""
    item = existing_account(coin_serial, field)
    if not caller.may_see(item["organizationId"]):
        raise no_account(field)
    return item


def existing_account(coin_serial: str, field: str = "coinSerial") -> Item:
    item = ledger_store.get_account_item(customer_account(coin_serial))
    if item is None:
        raise no_account(field)
    return item


def no_account(field: str) -> NotFound:
    return NotFound("No such account", details=[{"field": field, "issue": "not found"}])


def system_account(issuer_id: str, kind: SystemAccount, shard: int) -> str:
    return f"SYSTEM#{issuer_id}#{kind.value}#{shard:02d}"


def system_shards(issuer_id: str, kind: SystemAccount) -> list[str]:
    return [system_account(issuer_id, kind, shard) for shard in range(settings().system_account_shards)]


def shard_for(business_process_id: str) -> int:
    """Spreads operations over the shards; the same operation always lands on the same shard."""
    digest = hashlib.sha256(business_process_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % settings().system_account_shards


# Immutable records are NamedTuples, not frozen dataclasses: one defines with one compiled function where the
# dataclass compiles six, at every cold start (tests/unit/test_cold_start.py keeps it so).
class Leg(NamedTuple):
    account: str
    amount: Decimal
    bucket: Bucket = Bucket.AVAILABLE


class Refusable(NamedTuple):
    """A companion write whose failed condition is a business rule (a limit reached, a refund beyond
    its original), not a race: the posting is refused with `refusal` instead of being retried."""

    write: dict[str, Any]
    refusal: WalletError


@dataclass(frozen=True)
class Posting:
    business_process_id: str
    type: str
    currency: str
    legs: tuple[Leg, ...]
    details: dict[str, Any] = field(default_factory=dict)
    # A conditional write of the request the operation decides (its state still the expected one),
    # made in the same transaction: the money moves only if the decision applies, and once.
    guard: dict[str, Any] | None = None
    # The states a customer account may be in for this posting: money moves only through active
    # accounts, but a hold may still be released (or a mistaken credit reversed) on a frozen one.
    open_to: tuple[AccountStatus, ...] = (AccountStatus.ACTIVE,)
    # Writes that ride in the same transaction as the money (events, audit entries, limit counters,
    # refunded totals), each built by its own module; a failed condition on one refuses the posting.
    companions: tuple[dict[str, Any] | Refusable, ...] = ()


class Posted(NamedTuple):
    business_process_id: str
    created_at: str
    replayed: bool
    record: dict[str, Any]


class InsufficientFunds(BusinessRuleViolation):
    code = "INSUFFICIENT_FUNDS"


class AccountFrozen(BusinessRuleViolation):
    code = "ACCOUNT_FROZEN"


class AccountInactive(BusinessRuleViolation):
    code = "ACCOUNT_INACTIVE"


def check_open(state: AccountState, open_to: tuple[AccountStatus, ...] = (AccountStatus.ACTIVE,)) -> None:
    """Checked on the very read a posting's version guard stands on, so a freeze or a close that lands
    between a read and the write makes the write fail and the retry see it."""
    status = AccountStatus(state.item["status"])
    if status in open_to:
        return
    if status == AccountStatus.FROZEN:
        raise AccountFrozen("The account is frozen", details=[{"field": "coinSerial", "issue": "frozen"}])
    raise AccountInactive("The account is closed", details=[{"field": "coinSerial", "issue": "closed"}])


class WrongState(Conflict):
    code = "WRONG_STATE"


def post(posting: Posting, *, accounts: dict[str, AccountState] | None = None) -> Posted:
    """Applies the posting exactly once. `accounts` may carry states the caller just read, saving a read."""
    _check_balanced(posting)
    deadline = clock.monotonic() + RETRY_BUDGET_SECONDS
    for attempt in itertools.count():
        if attempt and clock.monotonic() >= deadline:
            break
        given = accounts is not None and attempt == 0
        states = accounts if accounts is not None and given else _read_customer_accounts(posting)
        created_at = clock.iso(clock.now())
        record = {
            "businessProcessId": posting.business_process_id,
            "type": posting.type,
            "currency": posting.currency,
            "createdAt": created_at,
            "legs": [
                {"account": leg.account, "bucket": leg.bucket.value, "amount": leg.amount} for leg in posting.legs
            ],
            **posting.details,
        }
        try:
            writes = _writes(posting, states, record)
        except InsufficientFunds:
            if given:  # the caller's read may be stale: decide on a fresh one
                continue
            if existing := ledger_store.get_process(posting.business_process_id):
                return _replayed(existing)  # the money left with this very operation: a retry
            raise
        try:
            ledger_store.write_operation(writes)
            return Posted(posting.business_process_id, created_at, replayed=False, record=record)
        except ClientError as error:
            outcome = _classify(error, posting)
            if outcome == "posted":
                existing = ledger_store.get_process(posting.business_process_id)
                if existing is None:  # cancelled for another reason on a record not written: try again
                    continue
                return _replayed(existing)
            if outcome != "retry":
                raise
        backoff = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        clock.pause(random.uniform(0, backoff))  # noqa: S311 - jitter, not secrecy
    raise Contention("The account is being changed by other operations; try again")


def _replayed(record: dict[str, Any]) -> Posted:
    return Posted(record["businessProcessId"], record["createdAt"], replayed=True, record=record)


def _check_balanced(posting: Posting) -> None:
    if not posting.legs or any(leg.amount == 0 for leg in posting.legs):
        raise ValueError("an operation needs legs with non-zero amounts")
    if sum(leg.amount for leg in posting.legs) != 0:
        raise ValueError(f"the legs of {posting.type} do not sum to zero")


def _read_customer_accounts(posting: Posting) -> dict[str, AccountState]:
    keys = [leg.account for leg in posting.legs if is_customer_account(leg.account)]
    return ledger_store.read_accounts(keys) if keys else {}


def _writes(posting: Posting, states: dict[str, AccountState], record: dict[str, Any]) -> list[dict[str, Any]]:
    """Legs on one account become one update (a transaction may touch an item once)."""
    changes: dict[str, dict[Bucket, Decimal]] = defaultdict(
        lambda: {Bucket.AVAILABLE: Decimal(0), Bucket.HELD: Decimal(0)}
    )
    for leg in posting.legs:
        changes[leg.account][leg.bucket] += leg.amount
    writes = [ledger_store.process_put(record)]
    balances_after: dict[tuple[str, Bucket], Decimal] = {}
    sequences: dict[str, int] = {}
    for account, delta in changes.items():
        if is_customer_account(account):
            state = states.get(account)
            if state is None:
                raise no_account("coinSerial")
            check_open(state, posting.open_to)
            if state.currency != posting.currency:
                raise BusinessRuleViolation(f"The account is not in {posting.currency}", code="CURRENCY_MISMATCH")
            available = state.available + delta[Bucket.AVAILABLE]
            held = state.held + delta[Bucket.HELD]
            if available < 0 or held < 0:
                raise InsufficientFunds("The account's balance does not cover this operation")
            writes.append(ledger_store.customer_balance_update(state, available, held))
            sequences[state.item["coinSerial"]] = state.version + 1
            balances_after |= {(account, Bucket.AVAILABLE): available, (account, Bucket.HELD): held}
        else:
            writes.append(
                ledger_store.system_balance_update(
                    account, posting.currency, delta[Bucket.AVAILABLE], delta[Bucket.HELD]
                )
            )
    for index, leg in enumerate(posting.legs):
        entry = {
            "account": leg.account,
            "leg": index,
            "bucket": leg.bucket.value,
            "amount": leg.amount,
            "currency": posting.currency,
            "type": posting.type,
            "businessProcessId": posting.business_process_id,
            "createdAt": record["createdAt"],
        }
        if (leg.account, leg.bucket) in balances_after:
            entry["balanceAfter"] = _balance_after_leg(posting.legs, index, balances_after)
        if description := posting.details.get("description"):
            entry["description"] = description
        writes.append(ledger_store.entry_put(entry))
    if posting.guard:
        writes.append(posting.guard)
    writes.extend(
        outbox_store.sequenced(companion.write if isinstance(companion, Refusable) else companion, sequences)
        for companion in posting.companions
    )
    if len(writes) > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"{posting.type} needs {len(writes)} writes; one transaction takes {MAX_TRANSACTION_ITEMS}")
    return writes


def _balance_after_leg(legs: tuple[Leg, ...], index: int, final: dict[tuple[str, Bucket], Decimal]) -> Decimal:
    """The bucket's balance after this leg: the final balance less the later legs on the same bucket."""
    leg = legs[index]
    later = sum(
        (other.amount for other in legs[index + 1 :] if (other.account, other.bucket) == (leg.account, leg.bucket)),
        Decimal(0),
    )
    return final[(leg.account, leg.bucket)] - later


def _classify(error: ClientError, posting: Posting) -> str:
    """'posted' (the record exists: a replay), 'retry' (a version moved or a conflict), or 'fail'."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return "fail"
    codes = cancellation_codes(error)
    if not codes:
        return "retry"  # no reasons given: nothing was written, the record's guard makes a retry safe
    if codes[0] == "ConditionalCheckFailed":
        return "posted"
    first_companion = len(codes) - len(posting.companions)
    if posting.guard and codes[first_companion - 1] == "ConditionalCheckFailed":
        raise WrongState("The request is no longer in the state this decision needs")
    for companion, code in zip(posting.companions, codes[first_companion:], strict=True):
        if isinstance(companion, Refusable) and code == "ConditionalCheckFailed":
            raise companion.refusal
    return "retry" if RETRYABLE_CODES & set(codes) else "fail"


def balance_of(keys: Iterable[str]) -> tuple[Decimal, Decimal]:
    """The summed balance of accounts, e.g. of a system account's shards."""
    states = ledger_store.read_accounts(list(keys))
    return sum((state.available for state in states.values()), Decimal(0)), sum(
        (state.held for state in states.values()), Decimal(0)
    )
