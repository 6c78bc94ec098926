"""SQLite's write mutex: one writer at a time across threads and processes, also in the
worker processes that gunicorn forks from a parent that wrote before (``kanban demo``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from kanban.core.tx import WriteMutex


def test_a_forked_child_and_its_parent_exclude_each_other(tmp_path: Path) -> None:
    mutex = WriteMutex(tmp_path / "kanban.db.writelock")
    mutex.acquire()  # the parent wrote before forking (its lock file is open)
    mutex.release()
    held_r, held_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker
        try:
            mutex.acquire()
            os.write(held_w, b"x")
            os.read(go_r, 1)
            mutex.release()
        finally:
            os._exit(0)
    try:
        assert os.read(held_r, 1) == b"x"  # the child holds it now
        got = threading.Event()

        def parent_writer() -> None:
            mutex.acquire()
            got.set()
            mutex.release()

        thread = threading.Thread(target=parent_writer)
        thread.start()
        assert not got.wait(0.5)  # the parent waits for the child...
        os.write(go_w, b"x")
        assert got.wait(10)  # ...and goes on once the child has let go
        thread.join(10)
    finally:
        os.write(go_w, b"x")
        os.waitpid(pid, 0)
