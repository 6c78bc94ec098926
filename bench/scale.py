"""A year at a big site on PostgreSQL (issue 17): seed it, then time the pages on it.

1. A throwaway PostgreSQL server (as the tests start one, tests/pg.py), migrated, then
   ``kanban seed-load`` (default: 20,000 bins, 400 suppliers, 5,000,000 movements over
   365 days) timed as a command, then ANALYZE (what autovacuum does on a real site).
2. Through the Flask test client, logged in as a supervisor, alternating: the board
   filtered by zone (as a user at a big site opens it), the whole board, a bin page with
   its chart (a different bin each time), the card-sizes overview, and
   ``GET /api/events?after=N`` a few events behind the head. p50 (and p95) of each.
3. ``kanban backup`` while a client keeps scanning through ``kanban serve``: how long
   the backup took, the scans made meanwhile and how many failed.
4. ``kanban check`` (wall time, as a command) on the result, scans included.

    .venv/bin/python bench/scale.py [--bins 20000] [--movements 5000000] [--days 365]
        [--suppliers 400] [--requests 20] [--out FILE]

Writes bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "scale.md"
KANBAN = str(Path(sys.executable).with_name("kanban"))

from bench.common import measured_on, pct, write_results  # noqa: E402  (after the path is set)


def command(env: dict[str, str], *args: str) -> float:
    """Run ``kanban ARGS``; its wall time in seconds (it must succeed)."""
    started = time.perf_counter()
    done = subprocess.run([KANBAN, *args], env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"kanban {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    print(done.stdout.strip(), flush=True)
    return took


def login(client: Any) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login", data={"username": "sup", "password": "password-sup", "csrf_token": token.group(1)}
    )
    assert resp.status_code == 302


def get_ms(client: Any, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    resp = client.get(path)
    body = resp.get_data()
    took = (time.perf_counter() - started) * 1000
    assert resp.status_code == 200, (path, resp.status_code)
    return took, len(body)


def pages(app: Any, n: int) -> dict[str, Any]:
    """Time the pages a big site opens (see the module docstring)."""
    from kanban.auth import users as auth
    from kanban.extensions import db
    from kanban.models import Bin, Event, Zone

    rng = random.Random(3)
    with app.app_context():
        auth.create_user("sup", "password-sup", "supervisor")
        db.session.commit()
        zones = list(db.session.scalars(sa.select(Zone.name).order_by(Zone.position)))
        codes = rng.sample(list(db.session.scalars(sa.select(Bin.code))), n)
        head = db.session.scalar(sa.select(sa.func.max(Event.id))) or 0
        db.session.remove()
    client = app.test_client()
    login(client)
    urls = {
        "zone": lambda i: "/?zone=" + requests.utils.quote(zones[i % len(zones)]),
        "board": lambda i: "/",
        "bin": lambda i: f"/bins/{codes[i]}",
        "sizing": lambda i: "/bins/sizing",
        "events": lambda i: f"/api/events?after={head - 10}",
    }
    for url in urls.values():  # warm-up
        get_ms(client, url(0))
    times: dict[str, list[float]] = {k: [] for k in urls}
    sizes: dict[str, int] = {}
    for i in range(n):  # alternate, so all see the same machine noise
        for key, url in urls.items():
            if key == "board" and i >= max(3, n // 4):
                continue  # the whole board is for comparison: a few suffice
            took, size = get_ms(client, url(i))
            times[key].append(took)
            sizes[key] = size
    return {"times": times, "sizes": sizes, "zones": len(zones)}


def scan_during_backup(env: dict[str, str], db_url: str, instance: Path) -> dict[str, Any]:
    """``kanban backup`` while a client scans through ``kanban serve``."""
    from kanban import create_app
    from kanban.auth import users as auth
    from kanban.extensions import db
    from kanban.models import Bin
    from tests.conftest import start_server, stop_server

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        _, token = auth.create_token("bench scanner", "operator")
        codes = list(db.session.scalars(sa.select(Bin.code).where(Bin.on_hand > 20).limit(500)))
        db.session.commit()
        db.engine.dispose()
    server = start_server(db_url, instance / "serve")
    stop = threading.Event()
    result: dict[str, Any] = {"ok": 0, "failed": 0, "latencies": []}

    def scanning() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        rng = random.Random(9)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                resp = session.post(
                    server.url + "/api/scans",
                    json={"code": rng.choice(codes), "scan_id": uuid.uuid4().hex},
                    timeout=30,
                )
                good = resp.status_code == 201
            except requests.RequestException:
                good = False
            result["ok" if good else "failed"] += 1
            result["latencies"].append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=scanning) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(2)  # scanning is under way
        before = result["ok"]
        result["backup_s"] = command(env, "backup", str(instance / "backup.dump"))
        result["during"] = result["ok"] - before
        result["size_mb"] = (instance / "backup.dump").stat().st_size / 1e6
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        stop_server(server)
    return result


# long: the whole run in the order of the module docstring, then the table
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bins", type=int, default=20_000)
    parser.add_argument("--suppliers", type=int, default=400)
    parser.add_argument("--movements", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    args = parser.parse_args()

    from kanban import create_app
    from tests.conftest import _migrate
    from tests.pg import ThrowawayPostgres

    pg = ThrowawayPostgres().start()
    try:
        with tempfile.TemporaryDirectory(prefix="kanban-scale-") as tmp:
            folder = Path(tmp)
            admin = sa.create_engine(pg.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql("CREATE DATABASE kanban_scale")
            db_url = sa.make_url(pg.url).set(database="kanban_scale").render_as_string(False)
            _migrate(db_url, folder)
            env = {
                **os.environ,
                "KANBAN_DATABASE_URL": db_url,
                "KANBAN_INSTANCE_PATH": str(folder),
                "KANBAN_SECRET_KEY": "bench",
            }
            size = [
                *("--bins", str(args.bins), "--suppliers", str(args.suppliers)),
                *("--movements", str(args.movements), "--days", str(args.days)),
            ]
            print(f"seed-load {' '.join(size)} …", flush=True)
            seed_s = command(env, "seed-load", *size)
            analyze = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
            with analyze.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
            analyze.dispose()
            admin.dispose()
            app = create_app(
                {"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "b"}
            )
            print(f"pages: {args.requests} requests each …", flush=True)
            r = pages(app, args.requests)
            with app.app_context():
                from kanban.extensions import db

                db.engine.dispose()
            print("kanban backup while scans go on …", flush=True)
            b = scan_during_backup(env, db_url, folder)
            print("kanban check …", flush=True)
            check_s = command(env, "check")
    finally:
        pg.stop()

    t = r["times"]

    def ok(good: bool) -> str:
        return "pass" if good else "FAIL"

    p50 = {k: pct(v, 0.5) for k, v in t.items()}
    rows = [
        (f"`kanban seed-load` ({args.movements:,} movements)", f"{seed_s:.0f} s", "≤ 300 s",
         ok(seed_s <= 300)),
        (f"board filtered by zone p50 ({args.bins // r['zones']:,} of {args.bins:,} cards shown, "
         f"{r['sizes']['zone'] / 1024:.0f} KiB HTML)", f"{p50['zone']:.0f} ms", "≤ 300 ms",
         ok(p50["zone"] <= 300)),
        ("board filtered by zone p95", f"{pct(t['zone'], 0.95):.0f} ms", "", ""),
        (f"whole board p50 ({args.bins:,} cards, {r['sizes']['board'] / 1024:.0f} KiB HTML)",
         f"{p50['board']:.0f} ms", "", ""),
        ("bin page with its chart p50 (a different bin each time)", f"{p50['bin']:.0f} ms",
         "≤ 200 ms", ok(p50["bin"] <= 200)),
        ("card sizes overview p50 (`/bins/sizing`)", f"{p50['sizing']:.0f} ms", "≤ 2000 ms",
         ok(p50["sizing"] <= 2000)),
        ("`GET /api/events?after=N` 10 behind the head p50", f"{p50['events']:.1f} ms",
         "≤ 20 ms", ok(p50["events"] <= 20)),
        ("`kanban check` wall time", f"{check_s:.1f} s", "≤ 60 s", ok(check_s <= 60)),
        (f"`kanban backup` while 4 clients scan ({b['size_mb']:.0f} MB dump)",
         f"{b['backup_s']:.1f} s", "", ""),
        ("scans made during the backup", str(b["during"]), "> 0", ok(b["during"] > 0)),
        ("scans that failed", str(b["failed"]), "0", ok(b["failed"] == 0)),
        ("scan latency p99 meanwhile", f"{pct(b['latencies'], 0.99):.0f} ms", "", ""),
    ]  # fmt: skip
    header = (
        f"{measured_on()}, PostgreSQL 15 (throwaway server, fsync off); "
        f"{args.bins:,} bins, {args.suppliers} suppliers, "
        f"{args.movements:,} movements over {args.days} days from `kanban seed-load`, then "
        f"ANALYZE; pages through the Flask test client as a supervisor ({args.requests} "
        "requests each, alternating); backup and scans against `kanban serve` (2 workers)."
    )
    write_results(args.out, "A year at a big site", header, rows)


if __name__ == "__main__":
    main()
