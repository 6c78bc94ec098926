"""The worker that drains the outbox (:mod:`kanban.core.outbox`).

It runs inside every ``kanban serve`` worker process and as ``kanban worker``,
but only one of them drains at a time, across all processes and hosts: the
*leader*, who holds a lock that dies with its process.

- PostgreSQL: a session-level advisory lock, held on a connection of its own
  (the server drops it the moment that connection closes: a killed process
  loses it at once). The leader checks that connection every few seconds.
- SQLite: an ``flock`` on a file beside the database (the kernel drops it when
  the process dies).

The others stand by and try again every few seconds. When a worker becomes the
leader, every delivery still ``sending`` was left by a dead one:
:func:`kanban.core.outbox.recover` hands it back. The leader delivers with a
few threads, each claiming one due row at a time (row claims protect even two
leaders at once, should a network split ever make one). Handlers run with no
transaction open; a slow receiver holds one of these threads, never a request.
The leader also runs the *sources*, each in a thread of its own: they turn records
written by changes into deliveries (webhooks read the change feed, so that a scan
writes nothing for them; ``kanban.webhooks.reader``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from flask import Flask

from ..domain.statuses import DeliveryKind, DeliveryStatus
from ..extensions import db
from ..models import utcnow
from . import claiming, outage, outbox
from .outbox import Job, Outcome
from .tx import LEADER_LOCK_KEY
from .wake import Wake, wake

log = logging.getLogger("kanban.outbox")


class Handler(Protocol):
    """Delivers one kind of delivery."""

    def deliver(self, job: Job, now: dt.datetime) -> Outcome:
        """Try the delivery (no transaction is open) and say how it went."""
        ...

    def finished(
        self,
        job: Job,
        outcome: Outcome,
        status: DeliveryStatus,
        reason: str | None,
        now: dt.datetime,
    ) -> None:
        """Called inside the transaction that records the outcome (may write)."""
        ...


class LeaderLock:
    """One leader per database: see the module docstring."""

    def acquire(self) -> bool:
        """Become the leader if nobody is; never blocks."""
        raise NotImplementedError

    def alive(self) -> bool:
        """Still the leader?"""
        return True

    def release(self) -> None:
        """Stop being the leader."""


class FileLock(LeaderLock):
    """SQLite: an ``flock`` on ``<database>.drainer``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class AdvisoryLock(LeaderLock):
    """PostgreSQL: ``pg_try_advisory_lock`` on a connection kept for it."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._conn: sa.Connection | None = None

    def acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.scalar(sa.select(sa.func.pg_try_advisory_lock(LEADER_LOCK_KEY))))
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.scalar(sa.select(1))
        except sa.exc.SQLAlchemyError:  # (a connection cut by a restart: invalidated)
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            # If the connection is gone, so is the lock (and, once invalidated, it refuses
            # statements with an SQLAlchemyError that is no DBAPIError).
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._conn.scalar(sa.select(sa.func.pg_advisory_unlock(LEADER_LOCK_KEY)))
            self._conn.close()
            self._conn = None


class _Always(LeaderLock):
    def acquire(self) -> bool:
        return True


def leader_lock(engine: sa.Engine) -> LeaderLock:
    """The lock that makes one leader among the workers of this database."""
    if engine.dialect.name != "sqlite":
        return AdvisoryLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        return _Always()
    return FileLock(Path(str(Path(database).resolve()) + ".drainer"))


@dataclasses.dataclass(frozen=True)
class Chore:
    """Housekeeping the leader runs every ``every`` seconds (and once when it starts
    leading), in an app context, such as pruning the change feed."""

    name: str
    every: float
    run: Callable[[], object]


@dataclasses.dataclass(frozen=True)
class Source:
    """Records that the leader turns into deliveries, in a thread of its own: webhooks read
    the change feed. ``run(now)`` writes a batch and commits, returning how many
    deliveries it wrote; it runs again at once (after ``pause``) while it finds work,
    else when ``woken_by`` is poked or every ``poll`` seconds."""

    name: str
    run: Callable[[dt.datetime], int]
    woken_by: Wake
    pause: float = 0.25


class Drainer:
    """Delivers what the outbox holds for one app (see the module docstring)."""

    def __init__(
        self,
        app: Flask,
        handlers: Mapping[DeliveryKind, Handler],
        *,
        threads: int = 4,
        batch: int = 50,
        max_attempts: int = 8,
        poll: float = 1.0,
        standby: float = 2.0,
        clock: Callable[[], dt.datetime] = utcnow,
        chores: tuple[Chore, ...] = (),
        sources: tuple[Source, ...] = (),
    ) -> None:
        self.app = app
        self.chores = chores
        self.sources = sources
        self.handlers = dict(handlers)
        self.threads = max(1, threads)
        #: The most deliveries of one webhook endpoint posted on one claim.
        self.batch = max(1, batch)
        self.max_attempts = max_attempts
        self.poll = poll
        self.standby = standby
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ one delivery

    def step(self, now: dt.datetime | None = None) -> int:
        """Claim, deliver and finish one due delivery (for a webhook endpoint, up to
        :attr:`batch` of its due deliveries, one after the other: once one fails, the
        rest go back untried); returns how many were handled, 0 when none was due.

        ``now`` fixes the clock for the whole step (tests pass a later time to
        make retries due); by default it is read before the claim and again
        for the finish.
        """
        jobs = claiming.claim(now or self.clock(), self.batch)
        if not jobs:
            return 0
        done: list[tuple[Job, Outcome]] = []
        for job in jobs:
            if done and done[-1][1].status is not DeliveryStatus.DELIVERED:
                break
            done.append((job, self._deliver(job, now)))
        handled = len(done)
        back = Outcome.later(now or self.clock(), "")  # untried: due again at once
        done += [(job, back) for job in jobs[handled:]]
        handler = self.handlers[jobs[0].kind]
        outbox.finish_many(
            done,
            now=now or self.clock(),
            max_attempts=self.max_attempts,
            hook=handler.finished,
        )
        return handled

    def _deliver(self, job: Job, now: dt.datetime | None) -> Outcome:
        handler = self.handlers[job.kind]
        started = time.monotonic()
        try:
            outcome = handler.deliver(job, now or self.clock())
        except Exception as exc:  # a bug must not stop the drainer: retry, and log it
            outage.log_failure(log, exc, "delivery %s failed unexpectedly", job.id)
            db.session.rollback()
            outcome = Outcome.retry(f"Unexpected error ({type(exc).__name__}); see the log.")
        if outcome.attempted and outcome.duration_ms is None:
            ms = int((time.monotonic() - started) * 1000)
            outcome = dataclasses.replace(outcome, duration_ms=ms)
        return outcome

    def read_sources(self, now: dt.datetime | None = None) -> int:
        """Run every source once; returns how many deliveries they wrote."""
        return sum(source.run(now or self.clock()) for source in self.sources)

    def drain(self, now: dt.datetime | None = None, limit: int = 1000) -> int:
        """Read the sources and deliver everything due now, one at a time, in this
        thread, until nothing is left; returns how many deliveries were handled.

        Needs an app context. For tests and ``kanban worker --once``.
        """
        done = 0
        while done < limit:
            wrote, stepped = self.read_sources(now), 0
            while done < limit and (tried := self.step(now)):
                done, stepped = done + tried, stepped + tried
            if not wrote and not stepped:
                break
        return done

    # ------------------------------------------------------------------- the leader

    def _work(self, leading: threading.Event) -> None:
        while leading.is_set() and not self._stop.is_set():
            seen = wake.generation
            try:
                with self.app.app_context():
                    handled = self.step()
            except Exception as exc:  # the database is away, say: wait and try again
                outage.log_failure(log, exc, "the outbox worker failed; trying again")
                handled = 0
                self._stop.wait(self.poll)
            if not handled:
                wake.wait(seen, self.poll)

    def _read(self, source: Source, leading: threading.Event) -> None:
        while leading.is_set() and not self._stop.is_set():
            seen = source.woken_by.generation
            try:
                with self.app.app_context():
                    wrote = source.run(self.clock())
            except Exception as exc:
                outage.log_failure(log, exc, "the outbox source %s failed", source.name)
                wrote = 0
            if self._stop.wait(source.pause):
                break
            if not wrote:
                source.woken_by.wait(seen, self.poll)

    def _lead(self, lock: LeaderLock) -> None:
        with self.app.app_context():
            recovered = outbox.recover(self.clock())
        if recovered:
            log.warning("took back %s deliveries a stopped worker left unfinished", recovered)
        leading = threading.Event()
        leading.set()
        workers = [
            threading.Thread(target=self._work, args=(leading,), daemon=True, name=f"outbox-{n}")
            for n in range(self.threads)
        ]
        workers += [
            threading.Thread(
                target=self._read, args=(src, leading), daemon=True, name=f"outbox-{src.name}"
            )
            for src in self.sources
        ]
        for t in workers:
            t.start()
        due = dict.fromkeys(range(len(self.chores)), 0.0)  # at once, then every so often
        try:
            while True:
                self._run_chores(due)
                if self._stop.wait(self.standby):
                    break
                if not lock.alive():
                    log.error("lost the outbox leader lock; standing by")
                    break
        finally:
            leading.clear()
            wake.poke()
            for src in self.sources:
                src.woken_by.poke()
            for t in workers:
                t.join(30)

    def _run_chores(self, due: dict[int, float]) -> None:
        """Run the chores that are due; one that fails is logged and tried next time."""
        for n, chore in enumerate(self.chores):
            if time.monotonic() < due[n]:
                continue
            due[n] = time.monotonic() + chore.every
            try:
                with self.app.app_context():
                    chore.run()
            except Exception as exc:
                outage.log_failure(log, exc, "the outbox worker's chore %s failed", chore.name)

    def run(self) -> None:
        """Stand by until this process may lead, then drain until :meth:`stop`."""
        with self.app.app_context():
            lock = leader_lock(db.engine)
        failures = 0  # in a row: the wait grows, so a broken database is not hammered
        while not self._stop.is_set():
            try:
                leader = lock.acquire()
            except Exception as exc:
                outage.log_failure(log, exc, "cannot reach the database to elect the worker")
                leader, failures = False, failures + 1
            if not leader:
                self._stop.wait(min(60.0, self.standby * 2 ** min(failures, 5)))
                continue
            log.info("this process drains the outbox (pid %s)", os.getpid())
            try:
                self._lead(lock)
                failures = 0
            except Exception as exc:
                outage.log_failure(log, exc, "the outbox leader failed; standing by")
                failures += 1
            finally:
                lock.release()
            self._stop.wait(min(60.0, self.standby * 2 ** min(failures, 5)) if failures else 0)

    def start(self) -> None:
        """Run :meth:`run` in a background thread."""
        self._thread = threading.Thread(target=self.run, daemon=True, name="outbox-leader")
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the deliveries under way and stop."""
        self._stop.set()
        wake.poke()
        if self._thread is not None:
            self._thread.join(timeout)
