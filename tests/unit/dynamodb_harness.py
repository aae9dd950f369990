"""Control over the DynamoDB client the layer uses: one call at a time, and injected failures.

moto is not atomic across threads, while DynamoDB makes each call atomic: serialising each call
keeps the test about our conditions, not moto's races. moto never throttles, times out or raises
TransactionConflict, so those are injected here."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from wallet import aws

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


@contextmanager
def one_call_at_a_time() -> Iterator[None]:
    lock = threading.Lock()

    def wrapper(call: ApiCall) -> ApiCall:
        def locked(operation: str, params: dict[str, Any]) -> Any:
            with lock:
                return call(operation, params)

        return locked

    with _wrapped(wrapper):
        yield


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
