"""Scan throughput on PostgreSQL: 4 workers and 32 clients, then two servers sharing it.

The same measurement as bench/scan_throughput.py, on a PostgreSQL server started for the
run (durable: fsync on, as in production):

1. One `kanban serve`-style gunicorn (``--workers`` processes) serves both the real scan
   API and a bare Flask endpoint that does one atomic UPDATE of the same bin row. Both are
   loaded alternately in the same run by ``--clients`` client processes, and the scan
   rate is reported as a ratio of the bare rate (machines are noisy; ratios less so).
2. Two servers on different ports share the database, as two hosts would; the clients are
   split between them. A live board (the event stream) open on the second server times
   how long a scan made on the first takes to reach it.

Afterwards the ledger is checked: no acknowledged scan may be lost or doubled, and
`kanban check` must pass.

    .venv/bin/python bench/scan_pg.py [--seconds 10] [--clients 32] [--workers 4]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import scan_throughput  # type: ignore[import-not-found]  # noqa: E402
from pg import ThrowawayPostgres, free_port  # type: ignore[import-not-found]  # noqa: E402
from scan_throughput import create_bins, load  # type: ignore[import-not-found]  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scan_postgresql.md"
START_STOCK = 10_000_000


def start_server(instance: Path, workers: int, threads: int) -> tuple[subprocess.Popen[bytes], int]:
    """A server (scan API and the bare endpoint) on a free port, once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "scan_throughput.py"),
            "--serve-child",
            str(instance),
            str(port),
            str(workers),
            str(threads),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/login")
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the server did not start")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the servers."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait()


def post_scan(port: int, token: str, code: str, scan_id: str) -> int:
    """One pull; the HTTP status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"code": code, "scan_id": scan_id})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn.request("POST", "/api/scans", body=body, headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def cross_latency(
    port_a: int, port_b: int, token: str, rounds: int
) -> tuple[list[float], dict[str, int]]:
    """Seconds from a scan's answer on server A to its event on server B's live stream;
    also the scans acknowledged (by bin), for the ledger check."""
    conn = http.client.HTTPConnection("127.0.0.1", port_b, timeout=30)
    conn.request("GET", "/api/events/stream", headers={"Authorization": f"Bearer {token}"})
    stream = conn.getresponse()
    arrivals: list[tuple[float, str]] = []  # (when, bin code) of each bin.changed seen
    ready = threading.Event()

    def read() -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed at the end
            for raw in stream:
                line = raw.decode(errors="replace").strip()
                if line.startswith("event: heartbeat"):
                    ready.set()
                elif line.startswith("data: ") and '"bin.changed"' in line:
                    arrivals.append((time.perf_counter(), json.loads(line[6:]).get("bin") or ""))

    threading.Thread(target=read, daemon=True).start()
    ready.wait(10)
    latencies: list[float] = []
    acknowledged: dict[str, int] = {}
    for i in range(rounds):
        code = f"T-{i % scan_throughput.BINS:03d}"
        sent = time.perf_counter()
        status = post_scan(port_a, token, code, f"cross-{i}-{os.getpid()}")
        answered = time.perf_counter()
        if status in (200, 201):
            acknowledged[code] = acknowledged.get(code, 0) + 1
        seen = None
        while seen is None and time.perf_counter() < answered + 5:
            seen = next((t for t, c in list(arrivals) if c == code and t >= sent), None)
            time.sleep(0.002)
        latencies.append(float("inf") if seen is None else max(0.0, seen - answered))
        time.sleep(0.2)
    conn.close()
    return latencies, acknowledged


def split_load(ports: list[int], token: str, clients: int, seconds: float) -> dict[str, object]:
    """``clients`` split between the servers, at the same time."""
    results: list[dict[str, object]] = []

    def run(port: int) -> None:
        results.append(load(port, "/api/scans", token, clients // len(ports), seconds))

    threads = [threading.Thread(target=run, args=(p,)) for p in ports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok: dict[str, int] = {}
    for r in results:
        for code, n in r["ok_by_code"].items():  # type: ignore[attr-defined]
            ok[code] = ok.get(code, 0) + n
    return {
        "rate": sum(r["rate"] for r in results),  # type: ignore[misc]
        "errors": sum(r["errors"] for r in results),  # type: ignore[misc]
        "p99": max(r["p99"] for r in results),  # type: ignore[type-var]
        "ok_by_code": ok,
    }


def add(total: dict[str, int], more: dict[str, int]) -> None:
    """Add acknowledged scans by bin."""
    for code, n in more.items():
        total[code] = total.get(code, 0) + n


# long: set-up, two phases and the ledger check of one benchmark run, in order
def main() -> None:
    """Run the benchmark and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each")
    parser.add_argument("--cross", type=int, default=30, help="scans timed across servers")
    parser.add_argument(
        "--year",
        type=int,
        default=5_000_000,
        help="movements of the year of data seeded first (kanban seed-load; 0: none)",
    )
    parser.add_argument(
        "--bins",
        type=int,
        default=640,
        help="bins the clients scan, in turn (a big site's stations scan different bins)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args()
    scan_throughput.BINS = args.bins  # the clients (forked) scan these

    import sqlalchemy as sa

    from kanban import config, create_app
    from kanban.auth import users as auth
    from kanban.cli import upgrade_database
    from kanban.extensions import db
    from kanban.models import Bin, Movement
    from kanban.ops import seedload
    from kanban.stock import check as ledger

    pg = ThrowawayPostgres(durable=True).start()
    tmp = Path(tempfile.mkdtemp(prefix="kanban-bench-pg-"))
    instance = tmp / "instance"
    os.environ["KANBAN_DATABASE_URL"] = pg.url
    os.environ["KANBAN_INSTANCE_PATH"] = str(instance)
    try:
        config.prepare_site(instance)  # as kanban serve does: the folder and secret key
        app = create_app({"INSTANCE_PATH": str(instance)})
        upgrade_database(app)
        seeded = ""
        if args.year:
            year = seedload.LoadSize(
                bins=min(20_000, max(100, args.year // 250)),
                suppliers=min(400, max(10, args.year // 12_500)),
                movements=args.year,
            )
            print(f"seeding {year} …", flush=True)
            with app.app_context():
                seedload.seed_load(year)
                db.session.commit()
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
                db.engine.dispose()
            seeded = (
                f" on a year of data ({year.bins:,} bins, {year.suppliers} suppliers, "
                f"{year.movements:,} movements from `kanban seed-load`)"
            )
        with app.app_context():
            create_bins(START_STOCK, card_below=-50)  # in replenish from the start
            _, token = auth.create_token("bench", "operator")
            db.session.commit()
            db.engine.dispose()

        acknowledged: dict[str, int] = {}
        # 1. One server, scans against the bare UPDATE, alternating.
        server, port = start_server(instance, args.workers, args.threads)
        try:
            add(acknowledged, load(port, "/api/scans", token, args.clients, 2.0)["ok_by_code"])  # type: ignore[arg-type]
            load(port, "/bench/bare-update", token, args.clients, 2.0)
            scans, bares = [], []
            load_avg = os.getloadavg()[0]
            for _ in range(args.rounds):
                scans.append(load(port, "/api/scans", token, args.clients, args.seconds))
                bares.append(load(port, "/bench/bare-update", token, args.clients, args.seconds))
        finally:
            stop([server])
        for s in scans:
            add(acknowledged, s["ok_by_code"])  # type: ignore[arg-type]

        # 2. Two servers sharing the database, as two hosts.
        half = max(1, args.workers // 2)
        (a, port_a), (b, port_b) = (
            start_server(instance, half, args.threads),
            start_server(instance, half, args.threads),
        )
        try:
            shared = split_load([port_a, port_b], token, args.clients, args.seconds)
            cross, cross_ok = cross_latency(port_a, port_b, token, args.cross)
        finally:
            stop([a, b])
        add(acknowledged, shared["ok_by_code"])  # type: ignore[arg-type]
        add(acknowledged, cross_ok)

        with app.app_context():
            problems = ledger.check()
            bench_bins = Bin.code.in_([f"T-{i:03d}" for i in range(scan_throughput.BINS)])
            stock = dict(
                db.session.execute(sa.select(Bin.code, Bin.on_hand).where(bench_bins)).all()
            )
            pulls = dict(
                db.session.execute(
                    sa.select(Bin.code, sa.func.count(Movement.id))
                    .join(Movement, Movement.bin_id == Bin.id)
                    .where(Movement.kind == "pull", bench_bins)
                    .group_by(Bin.code)
                ).all()
            )
            db.engine.dispose()
    finally:
        pg.stop()

    scan_rate = statistics.median(s["rate"] for s in scans)  # type: ignore[misc]
    bare_rate = statistics.median(b["rate"] for b in bares)  # type: ignore[misc]
    ratio = scan_rate / bare_rate
    p50 = statistics.median(s["p50"] for s in scans)  # type: ignore[misc]
    p99 = scan_throughput.pooled_p99(scans)
    bare_p99 = scan_throughput.pooled_p99(bares)
    errors = sum(s["errors"] for s in scans) + shared["errors"]  # type: ignore[operator]
    lost_or_doubled = sum(
        abs(pulls.get(code, 0) - acknowledged.get(code, 0))
        + abs(START_STOCK - stock[code] - acknowledged.get(code, 0))
        for code in stock
    )
    cross_sorted = sorted(cross)
    cross_p50 = statistics.median(cross_sorted)
    cross_max = cross_sorted[-1]

    def verdict(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    rows = [
        (f"scans/s ({args.clients} clients, {args.workers} workers)", f"{scan_rate:.0f}", "", ""),
        ("bare atomic UPDATE/s (same server, same run)", f"{bare_rate:.0f}", "", ""),
        ("ratio scan / bare", f"{ratio:.2f}", "≥ 0.50", verdict(ratio >= 0.5)),
        ("scan latency p50", f"{p50:.1f} ms", "", ""),
        ("scan latency p99", f"{p99:.1f} ms", "≤ 150 ms", verdict(p99 <= 150)),
        ("bare atomic UPDATE latency p99 (same run)", f"{bare_p99:.1f} ms", "", ""),
        (
            f"two servers sharing the database: scans/s ({half} workers each)",
            f"{shared['rate']:.0f}",
            "",
            "",
        ),
        (
            "two servers: scan latency p99",
            f"{shared['p99']:.1f} ms",
            "",
            "",
        ),
        (
            "a scan on server A seen by a live board on server B, p50",
            f"{cross_p50 * 1000:.0f} ms",
            "",
            "",
        ),
        (
            f"… slowest of {len(cross)}",
            "not seen" if cross_max == float("inf") else f"{cross_max * 1000:.0f} ms",
            "≤ 1000 ms",
            verdict(cross_max <= 1.0),
        ),
        ("failed scan requests", str(errors), "0", verdict(errors == 0)),
        (
            "lost or doubled scans (ledger and stock vs acknowledged)",
            str(lost_or_doubled),
            "0",
            verdict(lost_or_doubled == 0),
        ),
        ("`kanban check` problems after the run", str(len(problems)), "0", verdict(not problems)),
    ]
    table = ["| what | measured | target | result |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    meta = (
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, PostgreSQL 15 "
        f"(fsync on) on the same machine, gunicorn {args.workers} workers × {args.threads} "
        f"threads, {args.clients} client processes, {args.rounds} × {args.seconds:.0f} s per "
        f"endpoint (alternating), scans on {scan_throughput.BINS} bins in replenish{seeded}. "
        f"Load average at the start: {load_avg:.1f}."
    )
    text = "\n".join(["## Scan throughput on PostgreSQL", "", meta, "", *table, ""])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
