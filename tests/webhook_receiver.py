"""A real HTTP receiver for webhooks on 127.0.0.1: it checks each delivery's signature with
the recipe printed in the manual, and can answer 500, hang, close the connection or redirect."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The page of the manual that prints the signature recipe for receivers.
MANUAL_PAGE = Path(__file__).resolve().parent.parent / "docs" / "manual" / "integrators.md"
#: Ways the receiver can answer.
OK, ERROR, HANG, CLOSE, REDIRECT = "ok", "500", "hang", "close", "redirect"


def manual_recipe() -> str:
    """The Python block that follows the marker in the manual's "Checking the signature"."""
    text = MANUAL_PAGE.read_text()
    found = re.search(r"<!-- webhook-verify -->\s*```python\n(.*?)```", text, re.S)
    assert found is not None, "the manual lacks the signature recipe"
    return found.group(1)


def manual_verify() -> Any:
    """The manual's ``verify(secret, signature, body)``, as a receiver would paste it."""
    scope: dict[str, Any] = {}
    exec(compile(manual_recipe(), str(MANUAL_PAGE), "exec"), scope)  # noqa: S102 (our own manual)
    return scope["verify"]


@dataclass
class Hit:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``with Receiver(secret) as r``: r.url is where to post; r.mode how to answer."""

    secret: str = ""
    mode: str = OK
    hang_seconds: float = 30.0
    hits: list[Hit] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._verify = manual_verify()
        self._release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                signature = headers.get("kanban-signature", "")
                ok = bool(receiver.secret) and receiver._verify(receiver.secret, signature, body)
                receiver.hits.append(Hit(self.path, headers, body, ok, time.monotonic()))
                receiver.arrived.set()
                receiver.answer(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        mode = self.mode
        if mode == HANG:
            self._release.wait(self.hang_seconds)
            return  # then closes without an answer
        if mode == CLOSE:
            handler.close_connection = True
            return  # closes without a word
        status = {OK: 204, ERROR: 500, REDIRECT: 301}[mode]
        handler.send_response(status)
        if mode == REDIRECT:
            handler.send_header("Location", self.url + "-moved")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
