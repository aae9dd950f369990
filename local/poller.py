"""A background watcher of the embedded world: calls its work every few seconds until stopped."""

import threading
from collections.abc import Callable


class Poller:
    """A daemon thread that runs `work` every `seconds`; it ends quietly when the runtime closes under it (the
    world is ending)."""

    def __init__(self, name: str, seconds: float, work: Callable[[], object]):
        self.seconds = seconds
        self.work = work
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stopped.wait(self.seconds):
            try:
                self.work()
            except RuntimeError:
                return
