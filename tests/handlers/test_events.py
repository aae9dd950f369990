"""Every sample event in events/ runs through its real handler, as `sam local invoke -e <event>` would."""

import contextlib
import json
import re
import time
import urllib.request
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from local.lambdas import LocalLambdas
from local.outbox import Outbox
from local.template import ROOT, Template
from tests.conftest import ADMIN_LOGIN
from wallet import ledger
from wallet.ledger import Leg, Posting, SystemAccount

EVENTS = ROOT / "events"
EVENT_FILES = sorted(EVENTS.rglob("*.json"))
ROUTES = {(route.method, route.path): route.function for route in Template().routes()}
# Events that are not API requests: their folder's function, and the key of its answer holding the expected value.
FOLDER_FUNCTIONS = {
    "bootstrap": ("BootstrapFunction", "status"),
    "workflow": ("WorkflowFunction", "status"),
    "authorizer": ("AuthorizerFunction", "policyDocument"),
    "publisher": ("PublisherFunction", "batchItemFailures"),
    "delivery": ("DeliveryFunction", "batchItemFailures"),
    "aml_check": ("AmlCheckFunction", "cleared"),
    "card_provider": ("CardProviderFunction", "cleared"),
    "reconciliation": ("ReconciliationFunction", "clean"),
}
TOKEN_PLACEHOLDER = "Bearer <token from POST /authorization>"
# Samples a client sends only after another one; a sample's own placeholders bring theirs along.
REQUIRES = {
    "auth/registration-confirm.json": "auth/registration.json",
    "setup/create-issuer.json": "setup/create-currency.json",
    "setup/set-limit.json": "setup/create-currency.json",
    "coins/unfreeze-coin.json": "coins/freeze-coin.json",
    "coins/reconciliation.json": "coins/run-reconciliation.json",  # the latest report: a run's
    "auth/password-recovery-confirm.json": "auth/password-recovery.json",
}
# Samples whose one-time code is read from the message sent to their login.
WITH_CODE = {"auth/registration-confirm.json", "auth/password-recovery-confirm.json"}
# A placeholder in a sample (body, path, path parameters) → the sample whose answer holds the real value, and its field.
# "sample#tag" is that sample sent once more, its answer kept apart (a second coin, say).
PLACEHOLDERS = {
    "<issuerId from POST /issuers>": ("setup/create-issuer.json", "id"),
    "<coinSerial from POST /coins>": ("coins/open-coin.json", "coinSerial"),
    "<destination coinSerial from POST /coins>": ("coins/open-coin.json#destination", "coinSerial"),
    "<transferTemplateId from POST /templates/transfer>": ("transfers/create-template.json", "transferTemplateId"),
    "<businessProcessId from POST /transfers>": ("transfers/transfer.json", "businessProcessId"),
    "<smartCardId from POST /smart-cards>": ("transfers/issue-card.json", "smartCardId"),
    "<user id from POST /api/v1/users>": ("users/create-user.json", "user.id"),
    "<bankId from POST /bank-catalog>": ("setup/create-bank.json", "bankId"),
    "<webhookId from POST /webhooks>": ("webhooks/subscribe.json", "webhookId"),
    "<requestIdentifier from POST /bank-top-ups/with-bank>": ("requests/top-up-with-bank.json", "requestIdentifier"),
    "<requestIdentifier from POST /bank-top-ups/create-request/with-bank>": (
        "requests/create-top-up-request.json",
        "requestIdentifier",
    ),
    "<declined requestIdentifier from POST /bank-top-ups/create-request/with-bank>": (
        "requests/create-top-up-request.json#declined",
        "requestIdentifier",
    ),
    "<requestIdentifier from POST /bank-withdrawals/with-bank>": ("requests/withdraw.json", "requestIdentifier"),
    "<declined requestIdentifier from POST /bank-withdrawals/with-bank>": (
        "requests/withdraw.json#declined",
        "requestIdentifier",
    ),
}
# Decisions: their request's workflow (asynchronous) must have taken it from SCREENING to PENDING first.
DECISIONS = {
    "requests/accept-top-up.json",
    "requests/decline-top-up.json",
    "requests/accept-withdrawal.json",
    "requests/decline-withdrawal.json",
}
GET_REQUEST = "requests/get-request.json"
WORKFLOW_WAIT_SECONDS = 15.0
# Samples sent with a customer's token (the merchant of users/create-user.json); the others carry the administrator's.
AS_CUSTOMER = {
    "coins/open-coin.json",
    "coins/list-coins.json",
    "coins/validate-coin.json",
    "coins/statement.json",
    "coins/coin-limits.json",
    "coins/close-coin.json",
    "transfers/look-up-card.json",
    "transfers/transfer.json",
    "transfers/create-template.json",
    "transfers/list-templates.json",
    "transfers/calculate-template.json",
    "transfers/execute-template.json",
    "transfers/template-from-operation.json",
    "transfers/my-cards.json",
    "requests/calculate-top-up.json",
    "requests/create-top-up-request.json",
    "requests/calculate-withdrawal.json",
    "requests/withdraw.json",
    "requests/get-request.json",
    "transfers/calculate-transfer.json",
    "coins/get-operation.json",
}
# Samples that move money from the customer's coin: it is credited first, straight in the ledger.
FUNDED = {"transfers/transfer.json", "transfers/execute-template.json", "requests/withdraw.json"}
CREDIT = Decimal(100)
# The HTTP status of an API event; for another event, its answer's value at its folder's key (FOLDER_FUNCTIONS).
EXPECTED: dict[str, int | str | bool | dict[str, Any] | list[Any]] = {
    "auth/authorization.json": 200,
    "auth/registration.json": 202,
    "auth/registration-confirm.json": 201,
    "users/list-organizations.json": 200,
    "users/create-user.json": 201,
    "users/list-users.json": 200,
    "users/change-password.json": 200,
    "users/disable-user.json": 200,
    "users/enable-user.json": 200,
    "auth/password-recovery.json": 202,
    "auth/openapi.json": 200,
    "auth/password-recovery-confirm.json": 200,
    "setup/create-currency.json": 201,
    "setup/list-currencies.json": 200,
    "setup/create-issuer.json": 201,
    "setup/list-issuers.json": 200,
    "setup/create-bank.json": 201,
    "setup/list-banks.json": 200,
    "setup/set-commission.json": 201,
    "setup/list-commissions.json": 200,
    "setup/set-limit.json": 201,
    "setup/list-limits.json": 200,
    "coins/open-coin.json": 201,
    "coins/list-coins.json": 200,
    "coins/validate-coin.json": 200,
    "coins/statement.json": 200,
    "coins/run-reconciliation.json": 202,
    "coins/reconciliation.json": 200,
    "coins/coin-limits.json": 200,
    "coins/freeze-coin.json": 200,
    "coins/unfreeze-coin.json": 200,
    "coins/close-coin.json": 200,
    "transfers/transfer.json": 201,
    "transfers/refund.json": 201,
    "transfers/create-template.json": 201,
    "transfers/list-templates.json": 200,
    "transfers/calculate-template.json": 200,
    "transfers/execute-template.json": 201,
    "transfers/template-from-operation.json": 201,
    "transfers/issue-card.json": 201,
    "transfers/my-cards.json": 200,
    "transfers/block-card.json": 200,
    "transfers/unblock-card.json": 200,
    "transfers/look-up-card.json": 404,  # no card has its number in the sample's world: an unknown card
    "requests/calculate-top-up.json": 200,
    "requests/top-up-with-bank.json": 201,
    "requests/reverse-top-up.json": 200,
    "requests/create-top-up-request.json": 201,
    "requests/accept-top-up.json": 200,
    "requests/decline-top-up.json": 200,
    "requests/calculate-withdrawal.json": 200,
    "requests/withdraw.json": 201,
    "requests/accept-withdrawal.json": 200,
    "requests/decline-withdrawal.json": 200,
    "requests/get-request.json": 200,
    "requests/view-top-ups.json": 200,
    "requests/view-withdrawals.json": 200,
    "transfers/calculate-transfer.json": 200,
    "coins/get-operation.json": 200,
    "users/view-audit.json": 200,
    "webhooks/subscribe.json": 201,
    "webhooks/list-webhooks.json": 200,
    "webhooks/stop-webhook.json": 200,
    "webhooks/view-deliveries.json": 200,
    "webhooks/redeliver.json": 404,
    "delivery/retry-due.json": [],
    "bootstrap/direct-invocation.json": "BOOTSTRAPPED",
    "bootstrap/custom-resource-create.json": "BOOTSTRAPPED",
    "workflow/fail-safe.json": "ACCEPTED",
    "publisher/outbox-insert.json": [],
    "aml_check/screening-subject.json": True,
    "card_provider/screening-subject.json": True,
    "reconciliation/scheduled.json": True,
    "authorizer/token.json": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*",
            }
        ],
    },
}


def _name(path: Path) -> str:
    return path.relative_to(EVENTS).as_posix()


def _load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _function_for(name: str, event: dict[str, Any]) -> str:
    folder = name.split("/")[0]
    return (
        FOLDER_FUNCTIONS[folder][0] if folder in FOLDER_FUNCTIONS else ROUTES[(event["httpMethod"], event["resource"])]
    )


def _invoke_api(lambdas: LocalLambdas, name: str, event: dict[str, Any]) -> tuple[int, Any]:
    answer = lambdas.invoke(_function_for(name, event), event)
    return answer["statusCode"], json.loads(answer["body"])


def _admin_token(lambdas: LocalLambdas) -> str:
    status, body = _invoke_api(lambdas, "auth/authorization.json", _load("auth/authorization.json"))
    assert status == 200, body
    assert body["members"][0]["user"]["login"] == ADMIN_LOGIN
    return str(body["authorizationToken"]["token"])


def _with_body(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, "body": json.dumps(json.loads(event["body"]) | changes)}


def _with_authorization(event: dict[str, Any], token: str) -> dict[str, Any]:
    authorization = f"Bearer {token}"
    return {
        **event,
        "headers": event["headers"] | {"Authorization": authorization},
        "multiValueHeaders": event["multiValueHeaders"] | {"Authorization": [authorization]},
    }


def _otp_sent_to(outbox: Outbox, login: str) -> str:
    match = re.search(r"\b(\d{6})\b", outbox.records(to=login)[-1]["body"])
    assert match, outbox.records(to=login)
    return match.group(1)


class Client:
    """What a client does between the samples: sends what must come first, carries real tokens and real ids.

    Each sample it relies on is sent once; later uses read the answer it kept."""

    def __init__(self, lambdas: LocalLambdas, outbox: Outbox):
        self.lambdas = lambdas
        self.outbox = outbox
        self.answers: dict[str, Any] = {}

    @cached_property
    def admin_token(self) -> str:
        return _admin_token(self.lambdas)

    @cached_property
    def customer_token(self) -> str:
        merchant = json.loads(_load("users/create-user.json")["body"])
        self.answer("users/create-user.json")
        login = _with_body(_load("auth/authorization.json"), login=merchant["login"], password=merchant["password"])
        status, body = _invoke_api(self.lambdas, "auth/authorization.json", login)
        assert status == 200, body
        return str(body["authorizationToken"]["token"])

    @cached_property
    def funded(self) -> str:
        """The customer's coin, credited from the issuer's emission account; its serial."""
        issuer_id = self.answer("setup/create-issuer.json")["id"]
        serial = str(self.answer("coins/open-coin.json")["coinSerial"])
        process_id = f"sample-credit-{serial}"
        emission = ledger.system_account(issuer_id, SystemAccount.EMISSION, ledger.shard_for(process_id))
        legs = (Leg(emission, -CREDIT), Leg(ledger.customer_account(serial), CREDIT))
        ledger.post(Posting(process_id, "BANK_TOP_UP", "EUR", legs))
        return serial

    def prepare(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        if name in REQUIRES:
            self.answer(REQUIRES[name])
        if name in WITH_CODE:
            event = _with_body(event, otp=_otp_sent_to(self.outbox, json.loads(event["body"])["login"]))
        if name in FUNDED:
            assert self.funded
        headers = {key: event[key] for key in ("headers", "multiValueHeaders") if key in event}
        rest = json.dumps({key: value for key, value in event.items() if key not in headers})
        for placeholder, (source, field) in PLACEHOLDERS.items():
            if placeholder in rest:  # ids hold no characters JSON escapes
                value = self.answer(source)
                for part in field.split("."):
                    value = value[part]
                rest = rest.replace(placeholder, str(value))
        event = headers | json.loads(rest)
        if event.get("authorizationToken") == TOKEN_PLACEHOLDER:  # the authorizer's own event
            event["authorizationToken"] = f"Bearer {self.admin_token}"
        if event.get("headers", {}).get("Authorization") == TOKEN_PLACEHOLDER:
            event = _with_authorization(event, self.customer_token if name in AS_CUSTOMER else self.admin_token)
        if name in DECISIONS:
            self.await_pending(event["pathParameters"]["requestIdentifier"])
        return event

    def request_status(self, request_id: str) -> str:
        """The request's status, read with the GetRequest sample (for this request)."""
        sample = _load(GET_REQUEST)
        raw = json.dumps(sample).replace(sample["pathParameters"]["requestIdentifier"], request_id)
        status, body = _invoke_api(self.lambdas, GET_REQUEST, self.prepare(GET_REQUEST, json.loads(raw)))
        assert status == 200, body
        return str(body["status"])

    def await_pending(self, request_id: str) -> None:
        deadline = time.monotonic() + WORKFLOW_WAIT_SECONDS
        while (status := self.request_status(request_id)) == "SCREENING" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == "PENDING", (request_id, status)

    def send(self, name: str) -> tuple[int, Any]:
        return _invoke_api(self.lambdas, name, self.prepare(name, _load(name)))

    def answer(self, name: str) -> Any:
        """The answer of a sample the one under test relies on; it must succeed. "sample#tag" sends it anew."""
        if name not in self.answers:
            sample = name.partition("#")[0]
            status, body = self.send(sample)
            assert status == EXPECTED[sample], (name, body)
            self.answers[name] = body
        return self.answers[name]


def test_every_route_and_event_is_covered() -> None:
    events = {_name(path): _load(_name(path)) for path in EVENT_FILES}
    covered = {(event["httpMethod"], event["resource"]) for event in events.values() if "httpMethod" in event}
    assert set(ROUTES) - covered == set(), "a route without a sample event in events/"
    assert sorted(events) == sorted(EXPECTED)


@pytest.mark.parametrize("path", EVENT_FILES, ids=_name)
def test_sample_event_runs_through_its_handler(
    path: Path, lambdas: LocalLambdas, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _name(path)
    event = _load(name)
    function = _function_for(name, event)
    folder = name.split("/")[0]
    if function != "BootstrapFunction":
        client = Client(lambdas, outbox)
        if folder in FOLDER_FUNCTIONS:
            answer = lambdas.invoke(function, client.prepare(name, event))
            assert answer[FOLDER_FUNCTIONS[folder][1]] == EXPECTED[name], answer
        else:
            status, body = client.send(name)
            assert status == EXPECTED[name], body
        return

    answers: list[urllib.request.Request] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> contextlib.nullcontext[None]:
        answers.append(request)
        return contextlib.nullcontext()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    result = lambdas.invoke(function, event)  # the second run: the `lambdas` fixture bootstrapped already
    assert result[FOLDER_FUNCTIONS[folder][1]] == EXPECTED[name]
    if "ResponseURL" in event:
        [answer] = answers
        assert (answer.get_method(), answer.full_url) == ("PUT", event["ResponseURL"])
        assert isinstance(answer.data, bytes)
        response = json.loads(answer.data)
        assert response["Status"] == "SUCCESS"
        assert response["RequestId"] == event["RequestId"]
        assert response["LogicalResourceId"] == "Bootstrap"
    else:
        assert answers == []
    _admin_token(lambdas)  # the administrator still logs in
