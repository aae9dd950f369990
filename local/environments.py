"""`os.environ` as each function the process runs sees it (local/lambdas.py): exactly its own variables."""

import os
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar

# The running function's variables: a context variable, not a thread-local, as a handler's own threads (a parallel
# scan's segments) run in copies of its context, so their calls are its calls too, made in its environment.
current: ContextVar[dict[str, str] | None] = ContextVar("function_environment", default=None)


class FunctionEnvironments(MutableMapping[str, str]):
    """`os.environ` as code sees it: the process's own, or, while a function runs (in its thread and the threads
    it starts in copies of its context), that function's; other threads, a test's or a workflow's, go on
    seeing the process's."""

    def __init__(self, process: MutableMapping[str, str]):
        self.process = process

    @property
    def _current(self) -> MutableMapping[str, str]:
        function = current.get()
        return self.process if function is None else function

    def __getitem__(self, name: str) -> str:
        return self._current[name]

    def __setitem__(self, name: str, value: str) -> None:
        self._current[name] = value

    def __delitem__(self, name: str) -> None:
        del self._current[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current)

    def __len__(self) -> int:
        return len(self._current)

    def copy(self) -> dict[str, str]:
        return dict(self._current)


def install() -> FunctionEnvironments:
    """Once, before botocore's session is made: it keeps the `os.environ` it finds, to read AWS settings from."""
    if not isinstance(os.environ, FunctionEnvironments):
        os.environ = FunctionEnvironments(os.environ)  # type: ignore[assignment]  # noqa: B003 - kept inside
    return os.environ  # type: ignore[return-value]
