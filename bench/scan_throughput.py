"""Scan throughput: 16 concurrent clients against `kanban serve` on SQLite.

One server process tree (gunicorn, the same options as `kanban serve`) serves
both the real scan API and a bare Flask endpoint that does one atomic UPDATE on
the same database. Both are loaded in the same run, alternately, and the scan
rate is reported as a ratio of the bare rate (machines are noisy; ratios less
so). Afterwards the ledger is checked: no scan may be lost or doubled.

    .venv/bin/python bench/scan_throughput.py [--seconds 10] [--clients 16]
    .venv/bin/python bench/scan_throughput.py --webhook slow   # or down, or fast

Writes bench/results/scan_throughput.md. With ``--webhook`` each round attaches a
webhook endpoint that subscribes to every event (``slow``: a receiver on loopback that
answers after 10 s, longer than the timeout; ``down``: a port where nothing listens;
``fast``: one that answers at once), loads the scans, removes the endpoint and loads
them again: the scan rate and p99 with it are compared with those without it, on the
same server in the same run. The server's outbox worker delivers during the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "scan_throughput.md"
BINS = 32
#: How long the slow receiver takes to answer (the issue's "slow (10 s)").
SLOW_SECONDS = 10.0


def receiver(mode: str) -> tuple[str, object | None]:
    """A webhook receiver on loopback for ``mode``; returns its URL and server (or None)."""
    import http.server
    import threading

    sys.path.insert(0, str(ROOT / "tests"))
    from pg import free_port  # type: ignore[import-not-found]

    if mode == "down":
        return f"http://127.0.0.1:{free_port()}/hook", None  # nothing listens there

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if mode == "slow":
                time.sleep(SLOW_SECONDS)
            self.send_response(204)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", server


def create_bins(start_stock: int, card_below: int = 50) -> None:
    """The benchmark's bins T-000 … (in an app context; the caller commits): the card
    ``card_below`` under the stock, so that each card flips to replenish within its
    first pulls (in the warm-up) and stays there, as a busy bin does: every measured scan
    costs the same, reading its open line's request. (A negative ``card_below`` puts the
    card above the stock: the bin starts in replenish.)"""
    from kanban.masterdata import bins as catalog

    for i in range(BINS):
        catalog.create_bin(
            f"T-{i:03d}",
            sku=f"SKU-{i}",
            item_name=f"Part {i}",
            zone="Bench",
            supplier=f"Supplier {i % 4}",
            on_hand=start_stock,
            card_quantity=start_stock - card_below,
            order_quantity=100,
        )


#: The baseline endpoint that :func:`add_bare_endpoint` adds.
BARE_PATH = "/bench/bare-update"


def add_bare_endpoint(app: Any) -> None:
    """Add the baseline to ``app``: ``POST /bench/bare-update`` (also bench/scan_cpu.py)."""
    import sqlalchemy as sa
    from flask import request

    from kanban.core.tx import begin_write
    from kanban.extensions import csrf, db

    @app.post(BARE_PATH)
    def bare_update():  # type: ignore[no-untyped-def]
        # The baseline: one atomic UPDATE of the same bin row, same engine, same
        # write transaction. It bumps the row version rather than the stock so
        # that the ledger check after the run stays meaningful.
        begin_write()
        code = request.get_json()["code"]
        db.session.execute(
            sa.text("UPDATE bins SET version = version + 1 WHERE code = :c"), {"c": code}
        )
        db.session.commit()
        return {"ok": True}

    csrf.exempt(bare_update)


def serve(instance: str, port: int, workers: int, threads: int) -> None:
    """Child mode: the kanban app plus the bare endpoint, under gunicorn."""
    from kanban import create_app
    from kanban.cli import upgrade_database
    from kanban.cli_site import run_server

    app = create_app({"INSTANCE_PATH": instance})
    upgrade_database(app)
    add_bare_endpoint(app)
    run_server(app, "127.0.0.1", port, workers, threads)


def client(port: int, path: str, token: str, seconds: float, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One client: sequential requests on a keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    errors = 0
    ok_by_code: dict[str, int] = {}
    i = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        code = f"T-{(n * 7 + i) % BINS:03d}"
        body = json.dumps({"code": code, "scan_id": f"c{n}-{i}-{os.getpid()}-{path[-4:]}"})
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        latencies.append(time.perf_counter() - start)
        if status in (200, 201):
            ok_by_code[code] = ok_by_code.get(code, 0) + 1
        else:
            errors += 1
        i += 1
    out.put((latencies, errors, ok_by_code))


def load(port: int, path: str, token: str, clients: int, seconds: float) -> dict[str, object]:
    """Run ``clients`` processes against ``path`` for ``seconds``."""
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    procs = [
        mp.Process(target=client, args=(port, path, token, seconds, n, queue))
        for n in range(clients)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(lat for r in results for lat in r[0])
    ok: dict[str, int] = {}
    for r in results:
        for code, count in r[2].items():
            ok[code] = ok.get(code, 0) + count
    done = sum(ok.values())
    return {
        "rate": done / seconds,
        "done": done,
        "errors": sum(r[1] for r in results),
        "p50": statistics.median(latencies) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "ok_by_code": ok,
        "latencies": latencies,
    }


def percentile(latencies: list[float], q: float) -> float:
    """The ``q`` quantile of sorted ``latencies`` (nearest rank)."""
    return latencies[max(0, int(len(latencies) * q) - 1)]


def pooled_p99(runs: list[dict[str, object]]) -> float:
    """The p99 in ms of every request of ``runs`` together (each run's list is sorted)."""
    return percentile(sorted(lat for r in runs for lat in r["latencies"]), 0.99) * 1000  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--webhook",
        choices=["slow", "down", "fast"],
        help="attach a webhook receiver subscribed to every event (see the docstring)",
    )
    args = parser.parse_args()

    import sqlalchemy as sa

    sys.path.insert(0, str(ROOT / "tests"))
    from pg import free_port  # type: ignore[import-not-found]

    from kanban import config, create_app
    from kanban.auth import users as auth
    from kanban.cli import upgrade_database
    from kanban.extensions import db
    from kanban.models import Bin
    from kanban.stock import check as ledger
    from kanban.webhooks import endpoints

    tmp = Path(tempfile.mkdtemp(prefix="kanban-bench-"))
    instance = tmp / "instance"
    os.environ.pop("KANBAN_DATABASE_URL", None)
    os.environ["KANBAN_INSTANCE_PATH"] = str(instance)
    config.prepare_site(instance)  # as kanban serve does: the folder and secret key
    app = create_app({"INSTANCE_PATH": str(instance)})
    upgrade_database(app)
    start_stock = 10_000_000
    with app.app_context():
        create_bins(start_stock)
        _, token = auth.create_token("bench", "operator")
        hook_url = ""
        if args.webhook:
            hook_url, _receiver = receiver(args.webhook)
        db.session.commit()
        db.engine.dispose()

    def attach(on: bool) -> None:
        """Add the endpoint (a new one each round), or remove it; then wait until every
        server process has seen it (each trusts its list of endpoints for a second)."""
        with app.app_context():
            if on:
                endpoints.add(hook_url, None, by="bench")
            else:
                for hook in endpoints.listing():
                    endpoints.remove(hook.id)
            db.session.commit()
            db.engine.dispose()
        time.sleep(1.5)

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-child",
            str(instance),
            str(port),
            str(args.workers),
            str(args.threads),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/login")
                break
            except OSError:
                time.sleep(0.1)
        warm = load(port, "/api/scans", token, args.clients, 2.0)
        load(port, BARE_PATH, token, args.clients, 2.0)
        scans, bares, unhooked = [], [], []
        load_avg = os.getloadavg()[0]
        for n in range(args.rounds):
            if not args.webhook:
                scans.append(load(port, "/api/scans", token, args.clients, args.seconds))
            else:  # with and without it on the same server, in turns: AB, then BA, ...
                for on in (True, False) if n % 2 == 0 else (False, True):
                    attach(on)
                    runs = scans if on else unhooked
                    runs.append(load(port, "/api/scans", token, args.clients, args.seconds))
            bares.append(load(port, BARE_PATH, token, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait()

    with app.app_context():
        problems = ledger.check()
        stock = dict(db.session.execute(sa.select(Bin.code, Bin.on_hand)).all())
        from kanban.models import Delivery, Movement

        outbox = dict(
            db.session.execute(
                sa.select(Delivery.status, sa.func.count(Delivery.id)).group_by(Delivery.status)
            ).all()
        )

        pulls = dict(
            db.session.execute(
                sa.select(Bin.code, sa.func.count(Movement.id))
                .join(Movement, Movement.bin_id == Bin.id)
                .where(Movement.kind == "pull")
                .group_by(Bin.code)
            ).all()
        )
        db.engine.dispose()

    scan_rate = statistics.median(s["rate"] for s in scans)  # type: ignore[misc]
    bare_rate = statistics.median(b["rate"] for b in bares)  # type: ignore[misc]
    ratio = scan_rate / bare_rate
    p50 = statistics.median(s["p50"] for s in scans)  # type: ignore[misc]
    p99 = pooled_p99(scans)
    bare_p99 = pooled_p99(bares)
    errors = sum(s["errors"] for s in scans)  # type: ignore[misc]
    # Every acknowledged scan must be exactly one pull in the ledger and one
    # unit off the shelf: compare per bin.
    acknowledged: dict[str, int] = {}
    for s in [warm, *scans, *unhooked]:
        for code, n in s["ok_by_code"].items():  # type: ignore[attr-defined]
            acknowledged[code] = acknowledged.get(code, 0) + n
    lost_or_doubled = sum(
        abs(pulls.get(code, 0) - acknowledged.get(code, 0))
        + abs(start_stock - stock[code] - acknowledged.get(code, 0))
        for code in stock
    )

    rows = [
        ("scans/s (16 clients, `POST /api/scans`)", f"{scan_rate:.0f}", "", ""),
        ("bare atomic UPDATE/s (same server, same run)", f"{bare_rate:.0f}", "", ""),
        ("ratio scan / bare", f"{ratio:.2f}", "≥ 0.75", "pass" if ratio >= 0.75 else "FAIL"),
        ("scan latency p50", f"{p50:.1f} ms", "", ""),
        ("scan latency p99", f"{p99:.1f} ms", "≤ 100 ms", "pass" if p99 <= 100 else "FAIL"),
        ("bare atomic UPDATE latency p99 (same run)", f"{bare_p99:.1f} ms", "", ""),
        ("failed scan requests", str(errors), "0", "pass" if errors == 0 else "FAIL"),
        (
            "lost or doubled scans (ledger and stock vs acknowledged)",
            str(lost_or_doubled),
            "0",
            "pass" if lost_or_doubled == 0 else "FAIL",
        ),
        (
            "`kanban check` problems after the run",
            str(len(problems)),
            "0",
            "pass" if not problems else "FAIL",
        ),
    ]
    results, title = args.out, "Scan throughput"
    if args.webhook:
        what = {
            "slow": f"answers after {SLOW_SECONDS:.0f} s (the timeout is 5 s)",
            "down": "is down (connection refused)",
            "fast": "answers 204 at once",
        }[args.webhook]
        plain_rate = statistics.median(u["rate"] for u in unhooked)  # type: ignore[misc]
        plain_p99 = pooled_p99(unhooked)
        # Each round's with and without ran back to back: their ratio sees the machine
        # at one speed (it varies by half within a minute on a shared host); the median
        # of the rounds' ratios.
        cost = statistics.median(
            a["rate"] / b["rate"]  # type: ignore[operator]
            for a, b in zip(scans, unhooked, strict=True)
        )
        p99_cost = p99 / plain_p99
        rows = [
            (f"scans/s with a webhook receiver that {what}", f"{scan_rate:.0f}", "", ""),
            ("scans/s without it (same server, alternating)", f"{plain_rate:.0f}", "", ""),
            (
                "scans/s in each round, with · without",
                " · ".join(
                    f"{a['rate']:.0f}/{b['rate']:.0f}"  # type: ignore[str-format]
                    for a, b in zip(scans, unhooked, strict=True)
                ),
                "",
                "",
            ),
            (
                "ratio with / without (median of the rounds' ratios)",
                f"{cost:.2f}",
                "≥ 0.90",
                "pass" if cost >= 0.9 else "FAIL",
            ),
            ("scan latency p99 with it", f"{p99:.1f} ms", "", ""),
            ("scan latency p99 without it", f"{plain_p99:.1f} ms", "", ""),
            (
                "p99 with / without",
                f"{p99_cost:.2f}",
                "≤ 1.25",
                "pass" if p99_cost <= 1.25 else "FAIL",
            ),
            (
                "ratio scan / bare, with it (the plain scan's target is in its own table)",
                f"{ratio:.2f}",
                "",
                "",
            ),
            *rows[6:],
            (
                "webhook deliveries at the end, by status (events wait in the feed "
                "while the endpoint is away)",
                ", ".join(f"{k} {v}" for k, v in sorted(outbox.items())) or "none",
                "",
                "",
            ),
        ]
        results = args.out
        title = f"Scan throughput with a webhook receiver that {what}"
    table = ["| what | measured | target | result |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    meta = (
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores, SQLite (WAL, "
        f"synchronous=FULL), gunicorn {args.workers} workers × {args.threads} threads, "
        f"{args.clients} client processes, {args.rounds} × {args.seconds:.0f} s per endpoint "
        f"(alternating), {BINS} bins."
    )
    if args.webhook:
        meta += (
            " Each round loads the scans with a webhook endpoint subscribed to every event "
            "(a new one each time) and without it, in turns (with first, then without "
            "first, and so on); the outbox worker runs in the server, as under `kanban "
            "serve`. The p99 is that of all the scans of one kind in the run. Load "
            f"average at the start: {load_avg:.1f}."
        )
    text = "\n".join([f"## {title}", "", meta, "", *table, ""])
    print(text)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-child":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
