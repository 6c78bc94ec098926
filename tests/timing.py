"""Where the suite's time goes, printed at the end of every run (docs/testing.md).

A pytest plugin, loaded by ``tests/conftest.py``. It adds up each test's setup, call and
teardown time by package (the folder under ``tests/``, or the module for the files at its
top) and prints the packages, slowest first, after pytest's own ``--durations`` list. With
pytest-xdist the reports reach the controlling process, so the figures cover every worker;
their sum is worker time, more than the wall-clock time of a parallel run.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

_seconds: dict[str, float] = defaultdict(float)
_tests: dict[str, set[str]] = defaultdict(set)


def package_of(nodeid: str) -> str:
    """``tests/web/test_scan.py::test_x[sqlite]`` → ``tests/web``; a top-level file names
    itself (``tests/test_cli.py``)."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else path


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add one phase (setup, call or teardown) of one test to its package."""
    package = package_of(report.nodeid)
    _seconds[package] += report.duration
    _tests[package].add(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the time per package, slowest first."""
    if not _seconds:
        return
    total = sum(_seconds.values())
    terminalreporter.write_sep("=", "time per package (setup + call + teardown, all workers)")
    width = max(len(name) for name in _seconds)
    for name, seconds in sorted(_seconds.items(), key=lambda kv: -kv[1]):
        share = 100 * seconds / total if total else 0.0
        terminalreporter.write_line(
            f"{name:<{width}}  {seconds:8.1f} s  {share:5.1f} %  {len(_tests[name]):5d} tests"
        )
    terminalreporter.write_line(f"{'all':<{width}}  {total:8.1f} s")
