"""Money in and out through RequestsFunction's handler, in this process on embedded moto: the AWS calls one
top-up, withdrawal request or decision makes.

Counts only, no timings (moto is not DynamoDB). A request starts the approval workflow, which moto's Step
Functions runs in a background thread, its Lambda tasks reaching our handlers through LocalLambdas. Calls are
counted only on the thread that invokes the API's handler, so the workflow's own calls are never counted.
"""

import json
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3

from bench import ledger as bench_ledger
from local.lambdas import LocalLambdas
from local.server import api_gateway_event
from local.template import Route, Template
from wallet import catalog, config, ledger
from wallet.auth import Caller
from wallet.models.catalog import CommissionRule, NewBank, OperationType
from wallet.models.roles import OrganizationType, Role

FUNCTION = "RequestsFunction"
STAGE = "dev"
DYNAMODB = "dynamodb"  # the service part of botocore's event names
FUNDS = "1000000.00"  # the withdrawing coin's balance: far more than every withdrawal of a run takes
RULES = {  # as tests/http/test_money_in_and_out.py: the commission is a leg of every posting
    OperationType.BANK_TOP_UP: {"percent": Decimal(0), "fixed": Decimal("0.50")},
    OperationType.BANK_WITHDRAWAL: {"percent": Decimal(1), "fixed": Decimal("1.00")},
}
BANK = NewBank(name="Bench Bank", bic="DEUTDEFF", swift="DEUTDEFFXXX", country="DE")
ACCOUNT_NUMBER = "DE89370400440532013000"
PENDING_WAIT_SECONDS = 20.0  # how long a request may take to clear the workflow's AML step
SETTLE_WAIT_SECONDS = 20.0  # how long the workflows may take to announce, before the world stops
STAFF = Caller("user-bench-admin", "admin@wallet.example", "org-system", OrganizationType.SYSTEM, Role.ADMINISTRATOR)
OWNER = "bench-payer"
WAITING = ("SCREENING", "PENDING")


@dataclass
class Seen:
    """The AWS calls made on one thread, by service and operation."""

    dynamodb: bench_ledger.Calls = field(default_factory=bench_ledger.Calls)
    other: Counter[str] = field(default_factory=Counter)  # "sfn.StartExecution"


class Watch:
    """A before-call hook on every client's calls (a world's session relays them all to its hooks, local/aws.py):
    counts, while counting() is open, only the calls of the thread that opened it."""

    def __init__(self) -> None:
        self._seen: Seen | None = None
        self._thread: int | None = None

    def install(self, session: boto3.Session) -> None:
        session.events.register("before-call", self._before_call)

    def uninstall(self, session: boto3.Session) -> None:
        session.events.unregister("before-call", self._before_call)

    @contextmanager
    def counting(self) -> Iterator[Seen]:
        seen = Seen()
        self._seen, self._thread = seen, threading.get_ident()
        try:
            yield seen
        finally:
            self._seen = self._thread = None

    def _before_call(self, event_name: str, **_: Any) -> None:
        seen = self._seen
        if seen is None or threading.get_ident() != self._thread:
            return  # not counting, or the workflow's thread
        _event, service, operation = event_name.split(".", 2)
        if service == DYNAMODB:
            seen.dynamodb.operations[operation] += 1
        else:
            seen.other[f"{service}.{operation}"] += 1


@dataclass
class Measured:
    """One operation's samples."""

    name: str
    request: str  # method and path
    samples: list[Seen] = field(default_factory=list)

    def dynamodb_operations(self) -> Counter[str]:
        return sum((seen.dynamodb.operations for seen in self.samples), Counter[str]())

    def other_operations(self) -> Counter[str]:
        return sum((seen.other for seen in self.samples), Counter[str]())

    @property
    def writes(self) -> list[int]:
        return [seen.dynamodb.writes for seen in self.samples]

    @property
    def reads(self) -> list[int]:
        return [seen.dynamodb.reads for seen in self.samples]

    @property
    def dynamodb_others(self) -> list[int]:
        return [seen.dynamodb.others for seen in self.samples]

    @property
    def others(self) -> list[int]:
        return [sum(seen.other.values()) for seen in self.samples]


@dataclass(frozen=True)
class World:
    lambdas: LocalLambdas
    watch: Watch
    routes: tuple[Route, ...]
    coin: str
    bank_id: str
    owner_token: str
    staff_token: str

    @classmethod
    @contextmanager
    def embedded(cls, parameters: dict[str, str] | None = None) -> Iterator["World"]:
        """A currency, its issuer with BANK_TOP_UP and BANK_WITHDRAWAL commission rules, a bank and one funded
        coin, set up through the layer; the template's default parameters (a decision waits up to 72 hours) or
        the given ones."""
        with bench_ledger.embedded_world(parameters) as embedded, warnings.catch_warnings():
            # Powertools warns on every invocation that emits no metric.
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            session = boto3.DEFAULT_SESSION
            assert session is not None
            watch = Watch()
            watch.install(session)
            lambdas = LocalLambdas(embedded)  # every function's environment: RequestsFunction's workflow ARN too
            config.settings.cache_clear()
            try:
                issuer = bench_ledger.Issuer.create()
                for operation, rule in RULES.items():
                    catalog.set_commission_rule(
                        CommissionRule(operation_type=operation, issuer_id=issuer.id, **rule), STAFF
                    )
                bank_id = catalog.add_bank(BANK, STAFF).bank_id
                coin = issuer.open_account(OWNER)
                ledger.post(issuer.credit(coin, FUNDS, "bench-payments-funding"))
                routes = tuple(route for route in Template().routes() if route.function == FUNCTION)
                owner_token = bench_ledger.token_for(bench_ledger.customer(OWNER))
                staff_token = bench_ledger.token_for(STAFF)
                yield cls(lambdas, watch, routes, coin, bank_id, owner_token, staff_token)
                _wait_for_workflows(SETTLE_WAIT_SECONDS)
            finally:
                lambdas.close()
                watch.uninstall(session)

    def call(self, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The request as API Gateway hands it to the function; its answer's body, or an error if not 2xx."""
        (route,) = (route for route in self.routes if route.method.upper() == method and route.pattern.match(path))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        payload = json.dumps(body).encode() if body is not None else b""
        answer = self.lambdas.invoke(FUNCTION, api_gateway_event(route, method, path, headers, payload, STAGE))
        if not 200 <= answer["statusCode"] < 300:
            raise RuntimeError(f"{method} {path} answered {answer['statusCode']}: {answer['body']}")
        return dict(json.loads(answer["body"]))

    def counted(
        self, measured: Measured, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """call(), its AWS calls on this thread kept as one of `measured`'s samples."""
        with self.watch.counting() as seen:
            answer = self.call(method, path, token, body)
        measured.samples.append(seen)
        return answer

    def top_up_body(self, amount: str) -> dict[str, Any]:
        return {"coinSerial": self.coin, "amount": amount, "bankId": self.bank_id}

    def withdrawal_body(self, amount: str) -> dict[str, Any]:
        return {**self.top_up_body(amount), "accountNumber": ACCOUNT_NUMBER, "recipientName": "Bench Payer"}

    def wait_until_pending(self, request_ids: list[str], seconds: float) -> None:
        """Polls the requests through the handler (so under LocalLambdas' lock, one call at a time on moto)."""
        deadline = time.monotonic() + seconds
        waiting = list(request_ids)
        while waiting:
            statuses = {request_id: self.status(request_id) for request_id in waiting}
            if wrong := {request_id: status for request_id, status in statuses.items() if status not in WAITING}:
                raise RuntimeError(f"requests left SCREENING, not for PENDING: {wrong}")
            waiting = [request_id for request_id, status in statuses.items() if status == "SCREENING"]
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"{len(waiting)} requests still SCREENING after {seconds:.0f} s")
            if waiting:
                time.sleep(0.1)

    def status(self, request_id: str) -> str:
        return str(self.call("GET", f"/requests/{request_id}", self.staff_token)["status"])


def measure(world: World, samples: int) -> list[Measured]:
    """One top-up at once first, not counted (the handler module's import, first-use costs). Then `samples`
    of each: top-ups at once, top-up requests and withdrawal requests; once every request is PENDING (the
    workflow's AML step passed, its task token stored), each is accepted."""
    world.call("POST", "/bank-top-ups/with-bank", world.staff_token, world.top_up_body("10"))
    at_once = Measured("top-up credited at once", "POST /bank-top-ups/with-bank")
    top_up_request = Measured("top-up request", "POST /bank-top-ups/create-request/with-bank")
    withdrawal = Measured("withdrawal request", "POST /bank-withdrawals/with-bank")
    top_up_accept = Measured("top-up accept", "POST /bank-top-ups/{id}/accept")
    withdrawal_accept = Measured("withdrawal accept", "POST /bank-withdrawals/{id}/accept")
    top_ups, withdrawals = [], []
    for index in range(samples):
        amount = str(Decimal(100) + index)
        body = world.top_up_body(amount)
        answer = world.counted(at_once, "POST", "/bank-top-ups/with-bank", world.staff_token, body)
        _expect(answer, "ACCEPTED")
        answer = world.counted(
            top_up_request, "POST", "/bank-top-ups/create-request/with-bank", world.owner_token, body
        )
        top_ups.append(_expect(answer, "SCREENING"))
        body = world.withdrawal_body(amount)
        answer = world.counted(withdrawal, "POST", "/bank-withdrawals/with-bank", world.owner_token, body)
        withdrawals.append(_expect(answer, "SCREENING"))
    world.wait_until_pending(top_ups + withdrawals, PENDING_WAIT_SECONDS)
    for top_up_id, withdrawal_id in zip(top_ups, withdrawals, strict=True):
        answer = world.counted(top_up_accept, "POST", f"/bank-top-ups/{top_up_id}/accept", world.staff_token, {})
        _expect(answer, "ACCEPTED")
        path = f"/bank-withdrawals/{withdrawal_id}/accept"
        _expect(world.counted(withdrawal_accept, "POST", path, world.staff_token, {}), "ACCEPTED")
    return [at_once, top_up_request, withdrawal, top_up_accept, withdrawal_accept]


def _expect(answer: dict[str, Any], status: str) -> str:
    if answer["status"] != status:
        raise RuntimeError(f"expected {status}, the request is {answer['status']}: {answer}")
    return str(answer["requestIdentifier"])


def _wait_for_workflows(seconds: float) -> None:
    """Lets the executions announce their outcome, so none is left running when the world stops."""
    client = boto3.client("stepfunctions")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        machines = client.list_state_machines()["stateMachines"]
        running = [
            execution
            for machine in machines
            for execution in client.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")[
                "executions"
            ]
        ]
        if not running:
            return
        time.sleep(0.1)
