"""The board: render time with 2,000 bins, and scan → board latency over SSE.

1. Board render: 2,000 bins imported with the CSV importer into a temp SQLite
   instance, then ``GET /board`` through the Flask test client logged in as a
   supervisor (p50/p95 of ~30 requests). Baseline in the same run:
   ``GET /api/bins`` (the JSON of the same 2,000 bins), reported as a ratio.
2. Scan → board latency: ``kanban serve`` on the same database, a Python SSE
   reader on ``/api/events/stream`` with a display token, ~50 scans from another
   session; latency = POST sent → the matching ``bin.changed`` event read.

    .venv/bin/python bench/board.py [--bins 2000] [--requests 30] [--scans 50]

Writes bench/results/board.md.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "board.md"

from bench.common import measured_on, pct, write_results  # noqa: E402  (after the path is set)


def bins_csv(n: int) -> str:
    zones = [f"Zone {i:02d}" for i in range(20)]
    suppliers = [f"Supplier {i:02d}" for i in range(25)]
    lines = [
        "code,sku,item_name,zone,supplier,supplier_email,on_hand,card_quantity,"
        "order_quantity,pull_quantity,lead_time_days"
    ]
    for i in range(n):
        s = suppliers[i % len(suppliers)]
        lines.append(
            f"B-{i:05d},SKU-{i:05d},Part number {i},{zones[i % len(zones)]},{s},"
            f"orders@{s.replace(' ', '').lower()}.example,{(i * 7) % 40},10,30,1,7"
        )
    return "\n".join(lines) + "\n"


def add_pull_history(db: Any, n_bins: int, days: int) -> int:
    """A month of pulls for every bin (0–3 a day), written straight into the ledger table:
    what the card-size overview reads. Returns how many."""
    import datetime as dt_
    import random

    from kanban.models import Bin, Movement

    rng = random.Random(5)
    now = dt_.datetime.now(dt_.UTC)
    rows = []
    for bin_id in db.session.scalars(db.select(Bin.id)):
        for day in range(days):
            for _ in range(rng.randint(0, 3)):
                rows.append(
                    {
                        "bin_id": bin_id,
                        "kind": "pull",
                        "quantity": -1,
                        "on_hand_after": 0,
                        "state_after": "stocked",
                        "actor": "bench",
                        "source": "api",
                        "created_at": now - dt_.timedelta(days=day, hours=rng.randint(0, 9)),
                    }
                )
    db.session.execute(db.insert(Movement.__table__), rows)
    db.session.commit()
    return len(rows)


def timed(client: Any, path: str, n: int) -> tuple[list[float], int]:
    times = []
    size = 0
    for _ in range(n):
        t0 = time.perf_counter()
        resp = client.get(path)
        body = resp.get_data()
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, (path, resp.status_code)
        size = len(body)
    return times, size


def render_bench(app: Any, n_bins: int, n_requests: int) -> dict[str, Any]:
    from kanban.auth import users as auth
    from kanban.core.actor import Actor
    from kanban.extensions import db
    from kanban.masterdata import imports

    with app.app_context():
        report = imports.import_bins(bins_csv(n_bins), dry_run=False, actor=Actor(name="bench"))
        assert report.ok, report.errors
        db.session.commit()
        auth.create_user("sup", "password-sup", "supervisor")
        db.session.commit()
        pulls = add_pull_history(db, n_bins, days=30)
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token is not None
    resp = client.post(
        "/login", data={"username": "sup", "password": "password-sup", "csrf_token": token.group(1)}
    )
    assert resp.status_code == 302
    first = client.get("/board").get_data(as_text=True)
    cards = len(re.findall(r'class="card state-\w+" href="[^"]+" data-bin="[^"]+"', first))
    assert cards == n_bins, cards
    timed(client, "/api/bins", 2)  # warm-up
    sizing_page = client.get("/bins/sizing?show=all").get_data(as_text=True)
    assert sizing_page.count('<tr data-bin="') == n_bins
    board: list[float] = []
    base: list[float] = []
    sizes: list[float] = []
    for _ in range(n_requests // 5):  # alternate, so all see the same machine noise
        t, board_size = timed(client, "/board", 5)
        board += t
        t, base_size = timed(client, "/api/bins", 5)
        base += t
        t, _ = timed(client, "/bins/sizing?show=all", 5)
        sizes += t
    return {
        "board": board,
        "base": base,
        "sizing": sizes,
        "pulls": pulls,
        "board_kb": board_size / 1024,
        "base_kb": base_size / 1024,
        "cards": cards,
    }


def latency_bench(db_url: str, instance: Path, n_scans: int) -> dict[str, Any]:
    from kanban import create_app
    from kanban.auth import users as auth
    from kanban.extensions import db
    from tests.conftest import start_server, stop_server

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        _, display = auth.create_token("bench TV", "display")
        _, operator = auth.create_token("bench scanner", "operator")
        db.session.commit()
        db.engine.dispose()
    server = start_server(db_url, instance / "serve")
    got: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
    stream = requests.get(
        server.url + "/api/events/stream",
        stream=True,
        timeout=(5, 60),
        headers={"Authorization": f"Bearer {display}"},
    )

    def read() -> None:
        try:
            for line in stream.iter_lines(chunk_size=None, decode_unicode=True):
                if line.startswith("data: ") and '"kind"' in line:
                    got.put((time.perf_counter(), json.loads(line[6:])))
        except (requests.RequestException, AttributeError, ValueError):
            pass

    threading.Thread(target=read, daemon=True).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {operator}"
    latencies: list[float] = []
    missing = 0
    try:
        time.sleep(0.5)  # the stream is open and past its first poll
        for i in range(n_scans):
            code = f"B-{(i * 37) % 2000:05d}"
            mode = "receive" if i % 2 else "pull"
            sent = time.perf_counter()
            resp = session.post(
                server.url + "/api/scans",
                timeout=10,
                json={"code": code, "mode": mode, "quantity": 1},
            )
            assert resp.status_code == 201, resp.text
            deadline = sent + 5
            while True:
                try:
                    at, event = got.get(timeout=max(0.0, deadline - time.perf_counter()))
                except queue.Empty:
                    missing += 1
                    break
                if event.get("kind") == "bin.changed" and event.get("bin") == code:
                    latencies.append((at - sent) * 1000)
                    break
            # The loop is in step with the server's 0.25 s poll once an event arrives;
            # a random pause makes the next scan land at a random point of a poll.
            time.sleep(random.uniform(0.02, 0.3))
    finally:
        session.close()
        stream.close()
        stop_server(server)
    return {"latencies": latencies, "missing": missing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bins", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--scans", type=int, default=50)
    args = parser.parse_args()

    from kanban import create_app
    from tests.conftest import _migrate

    with tempfile.TemporaryDirectory(prefix="kanban-bench-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'kanban.db'}"
        _migrate(db_url, folder)
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench"}
        )
        print(f"board render: {args.bins} bins, {args.requests} requests …", flush=True)
        r = render_bench(app, args.bins, args.requests)
        with app.app_context():
            from kanban.extensions import db

            db.engine.dispose()
        print(f"scan → board latency: {args.scans} scans over SSE …", flush=True)
        lat = latency_bench(db_url, folder, args.scans)

    b50, b95 = pct(r["board"], 0.5), pct(r["board"], 0.95)
    a50 = pct(r["base"], 0.5)
    l50 = pct(lat["latencies"], 0.5) if lat["latencies"] else float("nan")
    l95 = pct(lat["latencies"], 0.95) if lat["latencies"] else float("nan")

    def ok(good: bool) -> str:
        return "pass" if good else "FAIL"

    rows = [
        (
            f"`GET /board` p50 ({r['cards']} cards, {r['board_kb']:.0f} KiB HTML)",
            f"{b50:.1f} ms",
            "≤ 150 ms",
            ok(b50 <= 150),
        ),
        ("`GET /board` p95", f"{b95:.1f} ms", "", ""),
        (
            f"baseline `GET /api/bins` p50 (same bins, {r['base_kb']:.0f} KiB JSON)",
            f"{a50:.1f} ms",
            "",
            "",
        ),
        ("ratio board / JSON baseline (p50)", f"{b50 / a50:.2f}", "", ""),
        (
            f"`GET /bins/sizing?show=all` p50 (every bin's card size; {r['pulls']:,} pulls "
            "in the ledger)",
            f"{pct(r['sizing'], 0.5):.1f} ms",
            "",
            "",
        ),
        ("scan → board event latency p50 (SSE)", f"{l50:.0f} ms", "≤ 300 ms", ok(l50 <= 300)),
        ("scan → board event latency p95 (SSE)", f"{l95:.0f} ms", "≤ 1000 ms", ok(l95 <= 1000)),
        (
            f"scans whose event did not arrive within 5 s (of {args.scans})",
            str(lat["missing"]),
            "0",
            ok(lat["missing"] == 0),
        ),
    ]
    header = (
        f"{measured_on()}, SQLite; render through the Flask test "
        f"client ({args.requests} requests each, alternating); latency against "
        f"`kanban serve` (gunicorn 2 workers × 16 threads), {args.scans} scans, one SSE "
        "reader with a display token."
    )
    write_results(args.out, "Board", header, rows)


if __name__ == "__main__":
    main()
