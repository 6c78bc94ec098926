"""What sits between the WSGI server and the views.

* The request class: a JSON body nested too deeply for the parser is answered with a 400,
  like any other malformed JSON, instead of a ``RecursionError`` and a 500.
* The ``int`` route converter: ids larger than a database INTEGER do not match the route
  (a 404), instead of overflowing in the database driver (a 500).
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

#: The largest id a route accepts: the databases' 32-bit INTEGER (a larger one is a 404).
MAX_ROUTE_ID = 2**31 - 1


class KanbanRequest(Request):
    """Flask's request, with JSON nesting errors answered as bad JSON."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The body as JSON; a body nested too deeply counts as malformed."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("The JSON body is nested too deeply.") from None


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: a whole number from 0 to :data:`MAX_ROUTE_ID`."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROUTE_ID)
        super().__init__(map, *args, **kwargs)
