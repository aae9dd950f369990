"""Transfers under limits and refunds through TransfersFunction's handler, in this process on embedded moto.

Counts only: the DynamoDB calls the handler makes for one POST /transfers with a limit rule in force (its
counters ride in the posting's TransactWriteItems) and for one POST /transfers/{businessProcessId}/refund.
"""

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench import ledger as bench_ledger
from bench.transfers import World, _forget_journal
from local.server import api_gateway_event
from local.template import Template
from wallet import limits
from wallet.models.catalog import OperationType
from wallet.models.limits import LimitRule, WindowLimit
from wallet.models.roles import Role

LIMIT = LimitRule(
    operation_type=OperationType.TRANSFER,
    currency_code=bench_ledger.CURRENCY,
    role=Role.INDIVIDUAL,
    per_operation=Decimal(10_000),
    daily=WindowLimit(amount=Decimal(1_000_000), count=100_000),
    monthly=WindowLimit(amount=Decimal(10_000_000), count=1_000_000),
)


@dataclass(frozen=True)
class Sample:
    calls: bench_ledger.Calls
    elements: int  # TransactWriteItems elements of the operation's one transaction


@dataclass(frozen=True)
class Measured:
    transfers: list[Sample]
    refunds: list[Sample]


def _invoke(world: World, method: str, path: str, resource: str, body: dict[str, str]) -> dict[str, object]:
    (route,) = (route for route in Template().routes() if (route.method.upper(), route.path) == (method, resource))
    headers = {"Authorization": f"Bearer {world.token}", "Content-Type": "application/json"}
    event = api_gateway_event(route, method, path, headers, json.dumps(body).encode(), "dev")
    answer = world.lambdas.invoke(route.function, event)
    if answer["statusCode"] != 201:
        raise RuntimeError(f"{method} {path} was refused ({answer['statusCode']}): {answer['body']}")
    return dict(json.loads(answer["body"]))


def _sample(world: World, method: str, path: str, resource: str, body: dict[str, str]) -> tuple[Sample, dict[str, Any]]:
    with bench_ledger.counting_calls() as calls, bench_ledger.recording_transactions(execute=True) as recorded:
        answer = _invoke(world, method, path, resource, body)
    elements = sum(len(transaction) for transaction in recorded)
    return Sample(calls, elements), {"answer": answer, "recorded": recorded}


def measure(samples: int) -> Measured:
    """A limit rule for the sender's role with per-operation, daily and monthly amount and count limits; then
    `samples` transfers through the handler, each followed by a partial refund of it by its recipient (the
    recipient's own token). The first transfer (rules not yet cached) is measured too: it is the one extra read."""
    transfers: list[Sample] = []
    refunds: list[Sample] = []
    with World.embedded(destinations=1) as world:
        limits.set_rule(LIMIT, bench_ledger.STAFF)  # forgets the cached rules, as a new rule does in its container
        payee = world.destinations[0]
        payee_token = bench_ledger.token_for(bench_ledger.customer("bench-payee-0"))
        for index in range(samples):
            amount = str(Decimal(2) + Decimal(index) / 100)
            body = {"sourceCoinSerial": world.source, "destinationCoinSerial": payee, "amount": amount}
            sample, kept = _sample(world, "POST", "/transfers", "/transfers", body)
            transfers.append(sample)
            process_id = str(kept["answer"]["businessProcessId"])
            recipient = World(world.lambdas, world.route, world.issuer, world.source, world.destinations, payee_token)
            path = f"/transfers/{process_id}/refund"
            sample, refunded = _sample(
                recipient, "POST", path, "/transfers/{businessProcessId}/refund", {"amount": "1"}
            )
            refunds.append(sample)
            _forget_journal(refunded["recorded"])  # the original's record stays until its refund is made
            _forget_journal(kept["recorded"])
    return Measured(transfers, refunds)
