"""Control over the DynamoDB client the layer uses: interleavings chosen call by call, injected failures.

moto is not atomic across threads, while DynamoDB makes each call atomic: operations that race take
turns call by call (`Interleaving`), in an order a seed or hypothesis chooses, never thread timing,
so a test is about our conditions, not moto's races. moto never throttles, times out or raises
TransactionConflict, so those are injected here."""

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from wallet import aws, clock

ApiCall = Callable[[str, dict[str, Any]], Any]


@contextmanager
def _wrapped(wrapper: Callable[[ApiCall], ApiCall]) -> Iterator[None]:
    client = aws.dynamodb()
    original = client._make_api_call
    client._make_api_call = wrapper(original)
    try:
        yield
    finally:
        client._make_api_call = original


def throttled(operation: str) -> Exception:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


def cancelled(operation: str) -> Exception:
    error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
    return ClientError({"Error": error, "CancellationReasons": [{"Code": "TransactionConflict"}]}, operation)


def timed_out(operation: str) -> Exception:
    return ReadTimeoutError(endpoint_url=f"https://dynamodb/{operation}")


@contextmanager
def failing_call(number: int, make_error: Callable[[str], Exception], *, after_it_ran: bool) -> Iterator[list[str]]:
    """The `number`-th call (from 0) fails: before reaching DynamoDB, or after it took effect (the
    answer is lost on the way back). Yields the operations called, for the test to count."""
    calls: list[str] = []

    def wrapper(call: ApiCall) -> ApiCall:
        def maybe_failing(operation: str, params: dict[str, Any]) -> Any:
            calls.append(operation)
            if len(calls) - 1 != number:
                return call(operation, params)
            if after_it_ran:
                call(operation, params)
            raise make_error(operation)

        return maybe_failing

    with _wrapped(wrapper):
        yield calls


# --- deterministic interleavings ---


@contextmanager
def _own_clocks(names: threading.local) -> Iterator[None]:
    """Each operation of an interleaving has its own clock, moved only by its own pauses (its backoff),
    which pass at once: only one operation runs at a time, so a real sleep would only stall the others,
    and a budget in time would depend on the machine's speed. Other threads keep the real clock."""
    real_monotonic, real_pause = clock.monotonic, clock.pause
    elapsed: dict[str, float] = {}

    def monotonic() -> float:
        name = getattr(names, "current", None)
        return real_monotonic() if name is None else elapsed.get(name, 0.0)

    def pause(seconds: float) -> None:
        name = getattr(names, "current", None)
        if name is None:
            real_pause(seconds)
        else:
            elapsed[name] = elapsed.get(name, 0.0) + seconds

    clock.monotonic, clock.pause = monotonic, pause
    try:
        yield
    finally:
        clock.monotonic, clock.pause = real_monotonic, real_pause


# Given the operations waiting at a call (in the order they were declared), the one that goes next.
Choose = Callable[[list[str]], str]


@dataclass(frozen=True)
class Outcome:
    """How one operation of an interleaving ended: its result, or the error it raised."""

    result: Any = None
    error: BaseException | None = None

    def value(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


def seeded(seed: int) -> Choose:
    """A reproducible schedule: the same seed, the same interleaving."""
    generator = random.Random(seed)  # noqa: S311 - a schedule, not a secret
    return generator.choice


def scripted(*turns: str) -> Choose:
    """A schedule written out: who makes each call; after the script (or if that one is not waiting),
    the first operation declared among those waiting."""
    remaining = list(turns)

    def choose(waiting: list[str]) -> str:
        wanted = remaining.pop(0) if remaining else None
        return wanted if wanted in waiting else waiting[0]

    return choose


class Interleaving:
    """Runs operations as threads that take turns at every DynamoDB call, as DynamoDB sees them.

    Only one operation runs at a time; when each is waiting at its next call (or done), `choose`
    picks which one makes it. Each call is atomic, the order of calls across operations is the
    schedule's, so a race is reproducible from the schedule's seed and hypothesis can shrink it.
    `trace` lists (operation, DynamoDB call) in the order they reached DynamoDB."""

    def __init__(self, choose: Choose):
        self.choose = choose
        self.trace: list[tuple[str, str]] = []
        self._turn = threading.Condition()
        self._names = threading.local()
        self._waiting: dict[str, str] = {}
        self._running: str | None = None

    def run(self, operations: dict[str, Callable[[], Any]]) -> dict[str, Outcome]:
        with _own_clocks(self._names):
            return self._run(operations)

    def _run(self, operations: dict[str, Callable[[], Any]]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}

        def body(name: str, operation: Callable[[], Any]) -> None:
            self._names.current = name
            try:
                outcomes[name] = Outcome(result=operation())
            except Exception as error:  # the operation's own outcome, kept for the test
                outcomes[name] = Outcome(error=error)
            finally:
                with self._turn:
                    self._running = None
                    self._turn.notify_all()

        with _wrapped(self._taking_turns):
            threads = []
            for name, operation in operations.items():  # each runs alone up to its first call
                thread = threading.Thread(target=body, args=(name, operation), daemon=True)
                with self._turn:
                    self._running = name
                    thread.start()
                    self._turn.wait_for(lambda: self._running is None)
                threads.append(thread)
            try:
                self._take_turns(list(operations), self.choose)
            except BaseException:  # the schedule failed (hypothesis stopped a draw): finish the rest, in order
                self._take_turns(list(operations), lambda waiting: waiting[0])
                raise
            for thread in threads:
                thread.join()
        return outcomes

    def _take_turns(self, names: list[str], choose: Choose) -> None:
        while True:
            with self._turn:
                if not self._waiting:
                    return
                chosen = choose([name for name in names if name in self._waiting])
                self.trace.append((chosen, self._waiting.pop(chosen)))
                self._running = chosen
                self._turn.notify_all()
                self._turn.wait_for(lambda: self._running is None)

    def _taking_turns(self, call: ApiCall) -> ApiCall:
        def in_turn(operation: str, params: dict[str, Any]) -> Any:
            name = getattr(self._names, "current", None)
            if name is None:  # a call from outside the interleaving (the test itself)
                return call(operation, params)
            with self._turn:
                self._waiting[name] = operation
                self._running = None
                self._turn.notify_all()
                self._turn.wait_for(lambda: self._running == name)
            return call(operation, params)

        return in_turn
