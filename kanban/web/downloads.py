"""CSV downloads that stream: rows are read from the database page by page while the file
is sent, so a year of ledger never sits in memory (the audit trail, the exports)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Response, current_app

from ..core import csvsafe

#: Reads the rows after a cursor: (rows, the cursor to continue after, or None at the end).
Pager = Callable[[int], tuple[list[list[Any]], int | None]]


def csv_download(filename: str, header: Iterable[str], page: Pager) -> Response:
    """A CSV attachment of ``header`` and every page of rows, every cell formula-safe
    (UTF-8 with a byte-order mark). Each page is read in an app context of its own while
    the response is sent: the request's context has ended by then."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    first = "\ufeff" + csvsafe.line(header)

    def body() -> Iterator[str]:
        yield first
        after: int | None = 0
        while after is not None:
            with app.app_context():
                rows, after = page(after)
            yield "".join(csvsafe.line(row) for row in rows)

    return Response(
        body(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
