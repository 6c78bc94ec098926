"""Decoding isolated in a small process pool, with a time bound.

ZBar can abort the whole process on hostile input and any C decoder can spin on a crafted
image, so :func:`decode_bytes` runs the pipeline of :mod:`kanban.barcodes.decode_pipeline`
in a worker process and kills the worker when the time bound is hit.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import threading
import time
import weakref
from concurrent.futures.process import BrokenProcessPool

from kanban.barcodes.decode_images import check_payload, open_checked
from kanban.barcodes.decode_pipeline import run_pipeline
from kanban.barcodes.decode_results import DecodedCode, DecodeError

__all__ = ["current_pool", "decode_bytes", "shutdown"]

log = logging.getLogger(__name__)

# Two workers, so that one slow photo does not hold up everybody's camera frames; never more
# than the machine has cores, as decoding is CPU-bound and the web server needs CPU too.
_MAX_WORKERS = max(1, min(2, (os.cpu_count() or 1)))
_pool_lock = threading.Lock()
_pool: concurrent.futures.ProcessPoolExecutor | None = None
# A new pool's first task also waits for its worker to start: the fork server imports the
# decoders (numpy, zxing-cpp, ZBar), a second or more on a busy machine. That wait is not a
# stuck decoder, so it does not count against the caller's timeout.
_START_GRACE = 10.0
# Pools that have answered once (started): they get no grace.
_started_pools: weakref.WeakSet[concurrent.futures.ProcessPoolExecutor] = weakref.WeakSet()
# Pools this process killed on purpose (after a timeout): a caller whose worker died with
# one of them retries instead of reporting a crash.
_killed_pools: weakref.WeakSet[concurrent.futures.ProcessPoolExecutor] = weakref.WeakSet()


def _mp_context() -> multiprocessing.context.BaseContext:
    # Never fork: the web server is multi-threaded, and a forked child can inherit locks held
    # by other threads. The fork server is a clean process that preloads this module, so a
    # replacement worker starts in milliseconds; spawn where there is no fork server.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        return ctx
    return multiprocessing.get_context("spawn")


def _get_pool() -> concurrent.futures.ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=_MAX_WORKERS, mp_context=_mp_context()
            )
        return _pool


def current_pool() -> concurrent.futures.ProcessPoolExecutor | None:
    """The worker pool in use, or ``None`` before the first decode and after a shutdown."""
    with _pool_lock:
        return _pool


def _kill_pool(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill ``pool``'s workers (a stuck C decoder ignores everything else) and drop it."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
        _killed_pools.add(pool)
    # ProcessPoolExecutor has no public way to stop a running task before Python 3.14's
    # kill_workers(); its process table is the only handle on the workers.
    processes = dict(getattr(pool, "_processes", None) or {})
    for proc in processes.values():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes.values():
        with contextlib.suppress(OSError, ValueError, AssertionError):
            proc.join(timeout=1.0)


def _drop_broken(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _worker_decode(data: bytes, budget: float | None, thorough: bool) -> list[DecodedCode]:
    """Runs in the worker process."""
    return run_pipeline(data, budget, thorough)


def _wait(
    pool: concurrent.futures.ProcessPoolExecutor,
    future: concurrent.futures.Future[list[DecodedCode]],
    deadline: float,
    timeout: float,
    size: int,
) -> list[DecodedCode] | None:
    """The worker's answer by ``deadline``; ``None`` when it is worth submitting again.

    Raises :class:`DecodeError` for a timeout (killing a stuck worker), a worker that died
    on this image, or any other failure in the worker.
    """
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except concurrent.futures.TimeoutError:
        if future.cancel():
            # Still queued behind other work: nothing of ours is stuck; keep the pool.
            raise DecodeError(
                "decode_timeout", "The decoder is busy; please try again in a moment.", 504
            ) from None
        log.warning("barcode decode exceeded %.1f s; restarting the decoder worker", timeout)
        _kill_pool(pool)
        raise DecodeError(
            "decode_timeout",
            f"Decoding the image took longer than {timeout:g} s and was stopped.",
            504,
        ) from None
    except BrokenProcessPool:
        _drop_broken(pool)
        with _pool_lock:
            killed_on_purpose = pool in _killed_pools
        if killed_on_purpose and time.monotonic() < deadline:
            return None
        log.error("barcode decoder worker died on an image of %d bytes", size)
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
    data: bytes, *, timeout: float = 5.0, thorough: bool = True, budget: float | None = None
) -> list[DecodedCode]:
    """Decode every barcode in an uploaded image (JPEG, PNG, WebP, GIF, BMP, TIFF).

    Decoding runs in a worker process, isolated from the caller, and is bounded by
    ``timeout`` seconds (including any wait for a busy worker). Returns ``[]`` when the
    image is fine but holds no readable code. ``thorough=False`` skips the retries, for
    live camera frames. ``budget`` overrides the attempts' own time budget (see
    :func:`~kanban.barcodes.decode.decode_image_inline`), which ends a hopeless photo long
    before any sensible ``timeout``; a budget longer than ``timeout`` ends in a kill.

    Raises :class:`DecodeError` with ``code``:

    * ``image_too_large`` (413) above :data:`~kanban.barcodes.decode.MAX_UPLOAD_BYTES`;
    * ``not_an_image`` (415 unknown type; 400 empty, damaged or truncated);
    * ``too_many_pixels`` (413) above :data:`~kanban.barcodes.decode.MAX_PIXELS`, checked
      from the header;
    * ``decode_timeout`` (504) when the time bound is hit; a stuck worker is killed;
    * ``decode_failed`` (422) when the worker process died on this image.
    """
    # Cheap checks here: a bad upload is answered at once, without a trip to the worker.
    check_payload(data)
    open_checked(data)

    started = time.monotonic()
    for _ in range(2):  # a second go only when another caller's timeout killed our worker
        pool = _get_pool()
        with _pool_lock:
            grace = 0.0 if pool in _started_pools else _START_GRACE
        try:
            future = pool.submit(_worker_decode, data, budget, thorough)
        except (BrokenProcessPool, RuntimeError):
            _drop_broken(pool)
            continue
        results = _wait(pool, future, started + timeout + grace, timeout, len(data))
        if results is not None:
            with _pool_lock:
                _started_pools.add(pool)
            return results
    raise DecodeError("decode_failed", "The decoder could not be started; try again.", 422)


def shutdown() -> None:
    """Stop the worker pool (tests, app teardown). The next decode starts a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
