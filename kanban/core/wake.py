"""Waking the outbox workers of this process when a transaction that wrote deliveries
commits (:func:`kanban.core.outbox.enqueue`), and the readers of the change feed when a
change that someone reads there commits; workers of other processes poll."""

from __future__ import annotations

import threading


class Wake:
    """Wakes the workers of this process when a transaction with deliveries commits
    (workers of other processes poll)."""

    def __init__(self) -> None:
        self.generation = 0  # changes on every poke
        self.cond = threading.Condition()

    def poke(self) -> None:
        """Wake the waiting workers now."""
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Sleep up to ``timeout`` s, less if poked since ``generation`` was ``seen``."""
        with self.cond:
            if self.generation == seen:
                self.cond.wait(timeout)


wake = Wake()
poke = wake.poke
#: Wakes the readers of the change feed (webhooks), which turn its events into deliveries.
feed_wake = Wake()
