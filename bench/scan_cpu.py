"""CPU per scan request, in one process: ``POST /api/scans`` against the bare endpoint.

The same app and SQLite file (WAL, as the product configures it) as
bench/scan_throughput.py, 32 bins, a device token; requests go through Flask's test
client, one after another, and each is timed with ``time.process_time()`` (CPU of this
process, so a busy machine changes the figures less than wall time would), after enough
scans that every card is in replenish. Scans and bare UPDATEs take turns, 50 requests
at a time. Prints the median and mean CPU per request in µs and the ratio bare / scan
(what the throughput ratio of bench/scan_throughput.py tends to on a machine whose cores
are all busy).

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

    from kanban import config, create_app
    from kanban.auth import users as auth
    from kanban.cli import upgrade_database
    from kanban.extensions import db

    instance = tmp / "instance"
    os.environ.pop("KANBAN_DATABASE_URL", None)
    os.environ["KANBAN_INSTANCE_PATH"] = str(instance)
    config.prepare_site(instance)  # as kanban serve does: the folder and secret key
    app = create_app({"INSTANCE_PATH": str(instance)})
    upgrade_database(app)
    add_bare_endpoint(app)
    with app.app_context():
        create_bins(10_000_000)
        _, token = auth.create_token("bench", "operator")
        db.session.commit()
    return app, token


#: Requests in a row to one endpoint before the other takes its turn.
BLOCK = 50


def timed(client: Any, paths: list[str], token: str, n: int, start: int) -> list[list[float]]:
    """CPU seconds of each of ``n`` requests to each of ``paths``, taking turns every
    :data:`BLOCK` requests (so that both see the machine as it is at that moment, each
    with its code warm in the caches, as in the throughput benchmark's runs)."""
    from scan_throughput import BINS

    headers = {"Authorization": f"Bearer {token}"}
    out: list[list[float]] = [[] for _ in paths]
    for block in range(start, start + n, BLOCK):
        for path, times in zip(paths, out, strict=True):
            for i in range(block, min(block + BLOCK, start + n)):
                body = {"code": f"T-{i % BINS:03d}", "scan_id": f"cpu-{path[-4:]}-{i}"}
                t0 = time.process_time()
                resp = client.post(path, json=body, headers=headers)
                times.append(time.process_time() - t0)
                if resp.status_code not in (200, 201):
                    text = resp.get_data(as_text=True)
                    raise SystemExit(f"{path}: {resp.status_code} {text}")
    return out


def calls(client: Any, path: str, token: str, n: int) -> pstats.Stats:
    """cProfile ``n`` requests to ``path``."""
    prof = cProfile.Profile()
    prof.enable()
    timed(client, [path], token, n, 10_000_000)
    prof.disable()
    return pstats.Stats(prof).strip_dirs()


def profile(client: Any, path: str, bare: str, token: str, n: int) -> None:
    """cProfile ``n`` scans: the top 30 by cumulative and by own time; then the Python
    function calls per request of both (a count, so it is the same on a busy machine)."""
    stats = calls(client, path, token, n)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(30)
    scan_calls = stats.total_calls / n  # type: ignore[attr-defined]
    bare_calls = calls(client, bare, token, n).total_calls / n  # type: ignore[attr-defined]
    print(f"function calls per request: scan {scan_calls:.0f}, bare {bare_calls:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3000, help="requests of each kind")
    parser.add_argument("--rounds", type=int, default=6, help="rounds reported one by one")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the scans instead, count calls"
    )
    args = parser.parse_args()
    from scan_throughput import BARE_PATH

    with tempfile.TemporaryDirectory(prefix="kanban-cpu-") as tmp:
        app, token = make_app(Path(tmp))
        client = app.test_client()
        # Warm up, and pull every bin below its card: the throughput benchmark spends most
        # of its run on cards in replenish (its bins flip after 50 pulls each).
        timed(client, ["/api/scans"], token, WARM_SCANS, 0)
        timed(client, [BARE_PATH], token, 300, 0)
        if args.profile:
            profile(client, "/api/scans", BARE_PATH, token, args.n)
            return
        scans: list[float] = []
        bares: list[float] = []
        per = max(1, args.n // args.rounds)
        for r in range(args.rounds):
            scan_r, bare_r = timed(client, ["/api/scans", BARE_PATH], token, per, r * per)
            scans += scan_r
            bares += bare_r
            scan_m, bare_m = statistics.median(scan_r) * 1e6, statistics.median(bare_r) * 1e6
            print(f"  round {r + 1}: scan {scan_m:5.0f} µs, bare {bare_m:5.0f} µs")
    scan_med, bare_med = statistics.median(scans) * 1e6, statistics.median(bares) * 1e6
    scan_mean, bare_mean = statistics.fmean(scans) * 1e6, statistics.fmean(bares) * 1e6
    print(f"{len(scans)} scans, {len(bares)} bare requests, CPU per request (µs):")
    print(f"  scan  median {scan_med:7.0f}  mean {scan_mean:7.0f}")
    print(f"  bare  median {bare_med:7.0f}  mean {bare_mean:7.0f}")
    ratios = f"median {bare_med / scan_med:.2f}  mean {bare_mean / scan_mean:.2f}"
    print(f"  ratio bare / scan: {ratios}")


if __name__ == "__main__":
    main()
