"""CPU per scan request, in one process: ``POST /api/scans`` against the bare endpoint.

The same app and SQLite file (WAL, as the product configures it) as
bench/scan_throughput.py, 32 bins, a device token; requests go through Flask's test
client, one after another, and each is timed with ``time.process_time()`` (CPU of this
process, so a busy machine changes the figures less than wall time would), after enough
scans that every card is in replenish. Scans and bare UPDATEs alternate in rounds.
Prints the median and mean CPU per request in µs and the ratio bare / scan (what the
throughput ratio of bench/scan_throughput.py tends to on a machine whose cores are all
busy).

    .venv/bin/python bench/scan_cpu.py [-n 3000] [--rounds 6] [--profile]

Writes nothing: it is for measuring a change to the scan path while working on it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


#: Scans before measuring: 60 pulls of each of the 32 bins.
WARM_SCANS = 32 * 60


def make_app(tmp: Path) -> tuple[Any, str]:
    """The app on a fresh SQLite file with the benchmark's bins, the bare endpoint and a
    device token; returns the app and the token."""
    from scan_throughput import add_bare_endpoint, create_bins  # type: ignore[import-not-found]

    from kanban import create_app
    from kanban.auth import users as auth
    from kanban.cli import upgrade_database
    from kanban.extensions import db

    instance = tmp / "instance"
    os.environ.pop("KANBAN_DATABASE_URL", None)
    os.environ["KANBAN_INSTANCE_PATH"] = str(instance)
    app = create_app({"INSTANCE_PATH": str(instance)})
    upgrade_database(app)
    add_bare_endpoint(app)
    with app.app_context():
        create_bins(10_000_000)
        _, token = auth.create_token("bench", "operator")
        db.session.commit()
    return app, token


def timed(client: Any, path: str, token: str, n: int, start: int, tag: str) -> list[float]:
    """CPU seconds of each of ``n`` requests to ``path``."""
    from scan_throughput import BINS

    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for i in range(start, start + n):
        body = {"code": f"T-{i % BINS:03d}", "scan_id": f"cpu-{tag}-{i}"}
        t0 = time.process_time()
        resp = client.post(path, json=body, headers=headers)
        out.append(time.process_time() - t0)
        if resp.status_code not in (200, 201):
            raise SystemExit(f"{path}: {resp.status_code} {resp.get_data(as_text=True)}")
    return out


def profile(client: Any, path: str, token: str, n: int) -> None:
    """cProfile ``n`` requests to ``path``: the top 30 by cumulative and by own time."""
    prof = cProfile.Profile()
    prof.enable()
    timed(client, path, token, n, 10_000_000, "prof")
    prof.disable()
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000, help="requests of each kind")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds")
    parser.add_argument("--profile", action="store_true", help="cProfile the scans instead")
    args = parser.parse_args()
    from scan_throughput import BARE_PATH

    with tempfile.TemporaryDirectory(prefix="kanban-cpu-") as tmp:
        app, token = make_app(Path(tmp))
        client = app.test_client()
        # Warm up, and pull every bin below its card: the throughput benchmark spends most
        # of its run on cards in replenish (its bins flip after 50 pulls each).
        timed(client, "/api/scans", token, WARM_SCANS, 0, "warm")
        timed(client, BARE_PATH, token, 300, 0, "warm")
        if args.profile:
            profile(client, "/api/scans", token, args.n)
            return
        scans: list[float] = []
        bares: list[float] = []
        per = max(1, args.n // args.rounds)
        for r in range(args.rounds):
            scans += timed(client, "/api/scans", token, per, r * per, "scan")
            bares += timed(client, BARE_PATH, token, per, r * per, "bare")
    scan_med, bare_med = statistics.median(scans) * 1e6, statistics.median(bares) * 1e6
    scan_mean, bare_mean = statistics.fmean(scans) * 1e6, statistics.fmean(bares) * 1e6
    print(f"{len(scans)} scans, {len(bares)} bare requests, CPU per request (µs):")
    print(f"  scan  median {scan_med:7.0f}  mean {scan_mean:7.0f}")
    print(f"  bare  median {bare_med:7.0f}  mean {bare_mean:7.0f}")
    print(
        f"  ratio bare / scan: median {bare_med / scan_med:.2f}  mean {bare_mean / scan_mean:.2f}"
    )


if __name__ == "__main__":
    main()
