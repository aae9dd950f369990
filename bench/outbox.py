"""The outbox's delay on `make run`: from a committed operation's answer to its event on the bus, and on to a
subscribed receiver's webhook.

Each staff top-up commits its money and its `top_up.credited` event in one transaction; the same
stream consumer as `make run` (local.streams, polling moto's stream and the webhooks' queue) publishes it, and
the delivery function POSTs it to a receiver on 127.0.0.1 subscribed by the administrator (the local stage
allows that address). The delay is moto's and the poller's, not DynamoDB Streams' or SQS's (on AWS, Lambda
polls a shard about four times a second); it shows that publication and delivery are off the request path and
how long a receiver waits here."""

import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

from bench.payments import STAFF, World
from local.streams import LocalStreams
from wallet import webhooks
from wallet.models.webhooks import NewWebhook

POLL_SECONDS = 0.2  # what `make run` uses (LocalStreams.start's default)
WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Delays:
    to_bus_ms: list[float]
    to_receiver_ms: list[float]
    committed: int
    published: int
    delivered: int


class _Receiver(BaseHTTPRequestHandler):
    arrived: ClassVar[dict[str, float]] = {}  # a request id: when its top_up.credited webhook arrived

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["type"] == "top_up.credited":
            self.arrived.setdefault(body["data"]["requestIdentifier"], time.perf_counter())
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def _receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def measure(samples: int) -> Delays:
    with World.embedded({"Stage": "local"}) as world, _receiver() as url:
        bus = world.lambdas.aws.outbox
        webhooks.subscribe(STAFF, NewWebhook(url=url, events=["top_up.credited"]))
        streams = LocalStreams(world.lambdas)
        streams.drain()  # the set-up's own events (the coin opened) go first
        streams.start(POLL_SECONDS)
        to_bus: list[float] = []
        to_receiver: list[float] = []
        try:
            for _ in range(samples):
                answer = world.call("POST", "/bank-top-ups/with-bank", world.staff_token, world.top_up_body("1.00"))
                committed = time.perf_counter()
                request_id = answer["requestIdentifier"]
                _wait(lambda rid=request_id: any(_about(entry, rid) for entry in bus.events), request_id, committed)
                to_bus.append((time.perf_counter() - committed) * 1000)
                _wait(lambda rid=request_id: rid in _Receiver.arrived, request_id, committed)
                to_receiver.append((_Receiver.arrived[request_id] - committed) * 1000)
        finally:
            streams.stop()
        published = sum(entry["DetailType"] == "top_up.credited" for entry in bus.events)
        return Delays(to_bus, to_receiver, samples, published, len(_Receiver.arrived))


def _wait(arrived: Any, request_id: str, since: float) -> None:
    while not arrived():
        if time.perf_counter() - since > WAIT_SECONDS:
            raise RuntimeError(f"the event of {request_id} did not arrive in {WAIT_SECONDS} s")
        time.sleep(0.005)


def _about(entry: dict[str, str], request_id: str) -> bool:
    detail = json.loads(entry["Detail"])
    return bool(detail["data"].get("requestIdentifier") == request_id)


def _spread(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"median {statistics.median(ordered):.0f}, p90 {ordered[int(0.9 * (len(ordered) - 1))]:.0f}, "
        f"max {ordered[-1]:.0f}"
    )


def report(samples: int) -> None:
    delays = measure(samples)
    print(
        f"Outbox: commit to EventBridge and to a webhook receiver on make run's pollers "
        f"(every {POLL_SECONDS * 1000:.0f} ms, moto)"
    )
    print(
        f"Top-ups committed {delays.committed}, their events published {delays.published} (each once), "
        f"delivered {delays.delivered}"
    )
    print(f"Commit to EventBridge, ms: {_spread(delays.to_bus_ms)}")
    print(f"Commit to the receiver's webhook, ms: {_spread(delays.to_receiver_ms)}")
