"""Copies of moto's state, so that a world provisioned once per process can start again from a copy: creating
the template's resources through the API (nine tables, queues, secrets, a rule, state machines) was over half of
a test world's start-up, and a deep copy of what it leaves in moto takes about two milliseconds."""

import copy
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.sqs.models import SQSBackend


@dataclass(frozen=True)
class Snapshot:
    # Where each backend lives: its service's backends, the account, the region.
    places: tuple[tuple[BackendDict[Any], str, str], ...]
    # Kept pristine: never served, only copied.
    backends: tuple[BaseBackend, ...]


def take() -> Snapshot:
    """moto's state now, every service in use, as a copy that later changes to moto do not reach."""
    places, backends = [], []
    for service in BackendDict._instances:  # type: ignore[misc]
        for account, region, backend in service.iter_backends():
            places.append((service, account, region))
            backends.append(backend)
    return Snapshot(tuple(places), _copied(backends))


def restore(snapshot: Snapshot) -> tuple[BaseBackend, ...]:
    """Into a moto just reset (`mock_aws` started): its backends become a fresh copy of the snapshot's."""
    backends = _copied(snapshot.backends)
    for (service, account, region), backend in zip(snapshot.places, backends, strict=True):
        service[account][region] = backend
    return backends


def _copied(backends: "list[BaseBackend] | tuple[BaseBackend, ...]") -> tuple[BaseBackend, ...]:
    """One deep copy of them all, so that references between backends stay references between the copies. A
    queue's lock cannot be copied: each copy of a queue gets a new one."""
    locks: dict[int, Any] = {
        id(queue._messages_lock): threading.Condition()
        for backend in backends
        if isinstance(backend, SQSBackend)
        for queue in backend.queues.values()
    }
    return tuple(copy.deepcopy(tuple(backends), locks))
