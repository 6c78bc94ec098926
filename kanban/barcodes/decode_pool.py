"""Decoding isolated in worker processes, with a time bound and a fair share for each user.

ZBar can abort the whole process on hostile input and any C decoder can spin on a crafted
image, so :func:`decode_bytes` runs the pipeline of :mod:`kanban.barcodes.decode_pipeline`
in a worker process and kills the worker when the time bound is hit.

The workers are *lanes*: each is a pool of exactly one process that runs one job at a time.
A job takes a free lane (waiting for one within its own time bound), so when a job runs too
long, killing its lane's process ends that job and no other: the other lanes' jobs carry
on, and the lane starts a fresh process for its next job. Each caller (``owner``: a user or
a device token) may have at most :data:`PER_OWNER` jobs running or waiting at once; one
more is refused at once with ``decode_busy`` (429), so one user's burst of large photos
can never hold every lane while other users' decodes wait.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from kanban.barcodes.decode_images import check_payload, open_checked
from kanban.barcodes.decode_pipeline import run_pipeline
from kanban.barcodes.decode_results import DecodedCode, DecodeError

__all__ = ["decode_bytes", "shutdown", "worker_processes"]

log = logging.getLogger(__name__)

# Two lanes, so that one slow photo does not hold up everybody's camera frames; never more
# than the machine has cores, as decoding is CPU-bound and the web server needs CPU too.
_LANES = max(1, min(2, (os.cpu_count() or 1)))
#: Jobs one owner may have running or waiting at once: fewer than the lanes, so that
#: another user always finds one.
PER_OWNER = max(1, _LANES - 1)

_cond = threading.Condition()
_free: list[int] = list(range(_LANES))
_executors: dict[int, concurrent.futures.ProcessPoolExecutor] = {}
_per_owner: Counter[str] = Counter()
# A lane's first job also waits for its process to start: the fork server imports the
# decoders (numpy, zxing-cpp, ZBar), a second or more on a busy machine. That wait is not a
# stuck decoder, so it does not count against the caller's timeout.
_START_GRACE = 10.0
# Lanes whose process has answered once (started): they get no grace.
_started: set[int] = set()


def _mp_context() -> multiprocessing.context.BaseContext:
    # Never fork: the web server is multi-threaded, and a forked child can inherit locks held
    # by other threads. The fork server is a clean process that preloads this module, so a
    # replacement worker starts in milliseconds; spawn where there is no fork server.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _executor(lane: int) -> concurrent.futures.ProcessPoolExecutor:
    """The lane's one-process pool, started on first use (and after a kill)."""
    with _cond:
        found = _executors.get(lane)
        if found is None:
            found = _executors[lane] = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=_mp_context()
            )
        return found


def _processes(executor: concurrent.futures.ProcessPoolExecutor) -> list[Any]:
    # ProcessPoolExecutor has no public way to stop a running task before Python 3.14's
    # kill_workers(); its process table is the only handle on the worker.
    return list((getattr(executor, "_processes", None) or {}).values())


def _kill(lane: int) -> None:
    """Kill the lane's process (a stuck C decoder ignores everything else); the lane starts
    a new one for its next job. Only this lane's job was running in it."""
    with _cond:
        executor = _executors.pop(lane, None)
        _started.discard(lane)
    if executor is None:
        return
    processes = _processes(executor)
    for proc in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            proc.kill()
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            proc.join(timeout=1.0)


def worker_processes() -> list[Any]:
    """The decoder processes running now (for tests and diagnostics)."""
    with _cond:
        executors = list(_executors.values())
    return [p for e in executors for p in _processes(e)]


@contextlib.contextmanager
def _lane_for(owner: str | None, deadline: float) -> Iterator[int]:
    """A free lane for ``owner``'s job, held until the job ends."""
    with _cond:
        if owner is not None:
            if _per_owner[owner] >= PER_OWNER:
                raise DecodeError(
                    "decode_busy",
                    "Your previous picture is still being read; send the next one after it.",
                    429,
                )
            _per_owner[owner] += 1
        try:
            while not _free:
                left = deadline - time.monotonic()
                if left <= 0 or not _cond.wait(timeout=left):
                    raise DecodeError(
                        "decode_timeout", "The decoder is busy; please try again in a moment.", 504
                    )
            lane = _free.pop()
        except BaseException:
            _release_owner(owner)
            raise
    try:
        yield lane
    finally:
        with _cond:
            _free.append(lane)
            _release_owner(owner)
            _cond.notify_all()


def _release_owner(owner: str | None) -> None:
    if owner is not None:
        _per_owner[owner] -= 1
        if _per_owner[owner] <= 0:
            del _per_owner[owner]


def _worker_decode(data: bytes, budget: float | None, thorough: bool) -> list[DecodedCode]:
    """Runs in the worker process."""
    return run_pipeline(data, budget, thorough)


def _run(
    lane: int, data: bytes, deadline: float, timeout: float, thorough: bool, budget: float | None
) -> Any:
    """Run the job on ``lane`` and wait for it until ``deadline`` (plus the start-up grace
    of a lane whose process has not answered yet)."""
    with _cond:
        grace = 0.0 if lane in _started else _START_GRACE
    try:
        future = _executor(lane).submit(_worker_decode, data, budget, thorough)
        found = future.result(timeout=max(0.0, deadline + grace - time.monotonic()))
        with _cond:
            _started.add(lane)
        return found
    except concurrent.futures.TimeoutError:
        log.warning("barcode decode exceeded %.1f s; restarting that decoder worker", timeout)
        _kill(lane)
        raise DecodeError(
            "decode_timeout",
            f"Decoding the image took longer than {timeout:g} s and was stopped.",
            504,
        ) from None
    except (BrokenProcessPool, RuntimeError):
        _kill(lane)  # gone already; drop the broken pool so the lane starts a new one
        log.error("barcode decoder worker died on an image of %d bytes", len(data))
        raise DecodeError(
            "decode_failed", "The decoder crashed on this image; try another photo.", 422
        ) from None
    except DecodeError:
        raise
    except Exception as exc:
        # Anything else from the worker (a library bug, MemoryError) is this image's
        # failure, not a reason for a 500: the caller gets the same typed error.
        log.exception("barcode decoding failed unexpectedly")
        raise DecodeError(
            "decode_failed", "The image could not be decoded; try another photo.", 422
        ) from exc


def decode_bytes(
    data: bytes,
    *,
    timeout: float = 5.0,
    thorough: bool = True,
    owner: str | None = None,
    budget: float | None = None,
) -> list[DecodedCode]:
    """Decode every barcode in an uploaded image (JPEG, PNG, WebP, GIF, BMP, TIFF).

    Decoding runs in a worker process, isolated from the caller, and is bounded by
    ``timeout`` seconds (including any wait for a free worker). Returns ``[]`` when the
    image is fine but holds no readable code. ``thorough=False`` skips the retries, for
    live camera frames (see :func:`~kanban.barcodes.decode.decode_image_inline`). ``owner``
    names who asks (a user, a device), for the fair share (module docstring). ``budget``
    overrides the attempts' own time budget (see
    :func:`~kanban.barcodes.decode.decode_image_inline`), which ends a hopeless photo long
    before any sensible ``timeout``; a budget longer than ``timeout`` ends in a kill.

    Raises :class:`DecodeError` with ``code``:

    * ``image_too_large`` (413) above :data:`~kanban.barcodes.decode.MAX_UPLOAD_BYTES`;
    * ``not_an_image`` (415 unknown type; 400 empty, damaged or truncated);
    * ``too_many_pixels`` (413) above :data:`~kanban.barcodes.decode.MAX_PIXELS`, checked
      from the header;
    * ``decode_busy`` (429) when ``owner`` already has :data:`PER_OWNER` decodes under way;
    * ``decode_timeout`` (504) when the time bound is hit; a stuck worker is killed;
    * ``decode_failed`` (422) when the worker process died on this image.
    """
    # Cheap checks here: a bad upload is answered at once, without a trip to the worker.
    check_payload(data)
    open_checked(data)
    deadline = time.monotonic() + timeout
    with _lane_for(owner, deadline) as lane:
        return list(_run(lane, data, deadline, timeout, thorough, budget))


def shutdown() -> None:
    """Stop the workers (tests, app teardown). The next decode starts new ones."""
    with _cond:
        executors = list(_executors.values())
        _executors.clear()
        _started.clear()
    for executor in executors:
        executor.shutdown(wait=True, cancel_futures=True)
