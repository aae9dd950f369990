"""The outbox's delay on `make run`: from a committed operation's answer to its event on the bus.

Each staff top-up commits its money and its `top_up.credited` event in one transaction; the same
stream consumer as `make run` (local.streams, polling moto's stream) publishes it. The delay is
moto's and the poller's, not DynamoDB Streams' (on AWS, Lambda polls a shard about four times a
second); it shows that publication is off the request path and how long a receiver waits here."""

import json
import statistics
import time
from dataclasses import dataclass

from bench.payments import World
from local.streams import LocalStreams

POLL_SECONDS = 0.2  # what `make run` uses (LocalStreams.start's default)
WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Delays:
    samples_ms: list[float]
    committed: int
    published: int


def measure(samples: int) -> Delays:
    with World.embedded() as world:
        bus = world.lambdas.aws.outbox
        streams = LocalStreams(world.lambdas)
        streams.drain()  # the set-up's own events (the coin opened) go first
        streams.start(POLL_SECONDS)
        delays: list[float] = []
        try:
            for _ in range(samples):
                answer = world.call("POST", "/bank-top-ups/with-bank", world.staff_token, world.top_up_body("1.00"))
                committed = time.perf_counter()
                request_id = answer["requestIdentifier"]
                while not any(_about(entry, request_id) for entry in bus.events):
                    if time.perf_counter() - committed > WAIT_SECONDS:
                        raise RuntimeError(f"the event of {request_id} was not published in {WAIT_SECONDS} s")
                    time.sleep(0.005)
                delays.append((time.perf_counter() - committed) * 1000)
        finally:
            streams.stop()
        published = sum(entry["DetailType"] == "top_up.credited" for entry in bus.events)
        return Delays(delays, samples, published)


def _about(entry: dict[str, str], request_id: str) -> bool:
    detail = json.loads(entry["Detail"])
    return bool(detail["data"].get("requestIdentifier") == request_id)


def report(samples: int) -> None:
    delays = measure(samples)
    ordered = sorted(delays.samples_ms)
    print(
        f"Outbox: commit to EventBridge on make run's stream consumer (poll every {POLL_SECONDS * 1000:.0f} ms, moto)"
    )
    print(f"Top-ups committed {delays.committed}, their events published {delays.published} (each once)")
    print(
        f"Delay ms: median {statistics.median(ordered):.0f}, p90 {ordered[int(0.9 * (len(ordered) - 1))]:.0f}, "
        f"max {ordered[-1]:.0f}"
    )
