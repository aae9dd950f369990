"""Webhooks on make run's stage: real HTTP to a real local receiver, signed, retried, filtered by owner."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from local.streams import LocalStreams
from tests.conftest import Api
from tests.http.test_money_in_and_out import Wallet


class Receiver(HTTPServer):
    """Answers 500 to its first `failures` deliveries, then 200; keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.failures = 0
        self.received: list[tuple[dict[str, str], bytes, int]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 500 if self.server.failures > 0 else 200
        self.server.failures -= 1
        self.server.received.append((dict(self.headers), body, status))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def world_parameters() -> dict[str, str]:
    return {"Stage": "local", "WebhookRetryBaseSeconds": "0"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def wallet(api: Api, admin_token: str) -> Wallet:
    return Wallet(api, admin_token)


def _merchant(wallet: Wallet) -> tuple[str, str]:
    body = {
        "login": "shop@example.com",
        "password": "Cust#2026",
        "role": "merchant",
        "legalType": "corporation",
        "name": "Corner Shop",
    }
    assert wallet.api.post("/api/v1/users", body, wallet.admin).status_code == 201
    token = wallet.api.token("shop@example.com", "Cust#2026")
    coin = wallet.api.post("/coins", {"issuerId": wallet.issuer}, token).json()["coinSerial"]
    return token, coin


def _credited(received: list[tuple[dict[str, str], bytes, int]]) -> list[dict[str, Any]]:
    bodies = [json.loads(body) for _, body, status in received if status == 200]
    return [body for body in bodies if body["type"] == "top_up.credited"]


def test_a_signed_delivery_reaches_the_receiver_on_its_third_attempt(
    wallet: Wallet, receiver: Receiver, streams: LocalStreams
) -> None:
    shop, coin = _merchant(wallet)
    created = wallet.api.post("/webhooks", {"url": receiver.url, "events": ["top_up.credited"]}, shop)
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert "secret" not in wallet.api.get("/webhooks", shop).json()["records"][0]
    receiver.failures = 2
    credit = {"coinSerial": coin, "amount": "25", "bankId": wallet.bank}
    assert wallet.api.post("/bank-top-ups/with-bank", credit, wallet.admin).status_code == 201
    streams.drain()

    assert [status for _, _, status in receiver.received] == [500, 500, 200]
    headers, body, _ = receiver.received[-1]
    timestamp, signature = (part.split("=", 1)[1] for part in headers["Wallet-Signature"].split(","))
    expected = hmac.new(webhook["secret"].encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    envelope = json.loads(body)
    assert headers["Wallet-Event-Id"] == envelope["id"]
    assert headers["Wallet-Event-Type"] == envelope["type"] == "top_up.credited"
    assert envelope["data"]["coinSerial"] == coin
    assert sorted(envelope) == ["data", "id", "occurredAt", "sequences", "type"]
    assert envelope["sequences"] == {coin: 1}  # opened at 0, credited: the account's first posting

    log = wallet.api.post(f"/webhooks/{webhook['webhookId']}/deliveries/view", {}, shop).json()["records"]
    assert [(d["status"], d["attempts"], d["lastStatusCode"]) for d in log] == [("DELIVERED", 3, 200)]
    again = wallet.api.post(f"/webhooks/deliveries/{log[0]['deliveryId']}/redeliver", {}, shop)
    assert again.status_code == 202
    streams.drain()
    assert [json.loads(body)["id"] for _, body, _ in receiver.received[-1:]] == [envelope["id"]]  # the same id again


def test_a_merchant_receives_only_events_about_its_own_accounts(
    wallet: Wallet, receiver: Receiver, streams: LocalStreams
) -> None:
    shop, coin = _merchant(wallet)
    assert wallet.api.post("/webhooks", {"url": receiver.url, "events": ["*"]}, shop).status_code == 201
    assert wallet.api.post("/webhooks", {"url": receiver.url, "events": ["*"]}, wallet.admin).status_code == 201
    alice_credit = wallet.top_up_at_once("10")["requestIdentifier"]
    shop_credit = {"coinSerial": coin, "amount": "5", "bankId": wallet.bank}
    assert wallet.api.post("/bank-top-ups/with-bank", shop_credit, wallet.admin).status_code == 201
    streams.drain()
    sent = {json.loads(body)["id"]: json.loads(body) for _, body, _ in receiver.received}
    shop_saw = [sent[record["eventId"]]["data"] for record in _log_of(wallet, shop)]
    admin_saw = [sent[record["eventId"]]["data"] for record in _log_of(wallet, wallet.admin)]
    assert {data.get("coinSerial") for data in shop_saw} == {coin}
    assert alice_credit in [data.get("requestIdentifier") for data in admin_saw]
    assert alice_credit not in [data.get("requestIdentifier") for data in shop_saw]


def _log_of(wallet: Wallet, token: str) -> list[dict[str, Any]]:
    [hook] = wallet.api.get("/webhooks", token).json()["records"]
    return list(wallet.api.post(f"/webhooks/{hook['webhookId']}/deliveries/view", {}, token).json()["records"])


def test_unsafe_or_unknown_subscriptions_are_refused(wallet: Wallet) -> None:
    shop, _ = _merchant(wallet)
    for url in ("https://169.254.169.254/latest", "http://example.com/hook", "https://localhost/hook"):
        refused = wallet.api.post("/webhooks", {"url": url, "events": ["*"]}, shop)
        assert (refused.status_code, refused.json()["details"][0]["field"]) == (400, "url"), url
    unknown = wallet.api.post("/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["money.lost"]}, shop)
    assert (unknown.status_code, unknown.json()["details"][0]["field"]) == (400, "events")
    assert (
        wallet.api.post("/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["*"]}, wallet.customer).status_code
        == 403
    )


def test_a_publisher_dying_after_putevents_sends_each_subscription_one_delivery(
    wallet: Wallet, receiver: Receiver, lambdas: LocalLambdas, streams: LocalStreams, embedded_aws: EmbeddedAws
) -> None:
    """The one window where the bus can get an event twice: PutEvents succeeded, the function died before
    writing its markers, and the stream's retry sends it again. Each subscription still gets one delivery."""
    shop, coin = _merchant(wallet)
    for token in (shop, wallet.admin):
        assert wallet.api.post("/webhooks", {"url": receiver.url, "events": ["top_up.credited"]}, token).ok
    streams.drain()  # what came before is out
    crashes = {"left": 1}

    def die_after_the_bus_took_it(**_: Any) -> None:
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("the publisher's container died before its markers")

    # The publisher's own client (its copy of the layer's), made before any hook.
    client_events = lambdas.layer_module("PublisherFunction", "wallet.aws").events().meta.events
    client_events.register("after-call.events.PutEvents", die_after_the_bus_took_it)
    try:
        credit = {"coinSerial": coin, "amount": "25", "bankId": wallet.bank}
        assert wallet.api.post("/bank-top-ups/with-bank", credit, wallet.admin).status_code == 201
        for _ in range(3):
            streams.drain()
    finally:
        client_events.unregister("after-call.events.PutEvents", die_after_the_bus_took_it)

    assert crashes["left"] == 0
    on_bus = [json.loads(entry["Detail"]) for entry in embedded_aws.outbox.events]
    [event_id] = {event["id"] for event in on_bus if event["type"] == "top_up.credited"}
    assert [event["id"] for event in on_bus].count(event_id) == 2  # sent twice: the crash came after the bus
    delivered = [json.loads(body)["id"] for _, body, _ in receiver.received]
    assert delivered.count(event_id) == 2  # once for the merchant's subscription, once for the admin's
    for token in (shop, wallet.admin):
        assert [record["eventId"] for record in _log_of(wallet, token)] == [event_id]
