"""Announcements that listeners hang on.

:data:`card_changed` is sent by :func:`kanban.cards.flow.apply`, the one place a
card changes, with the :class:`~kanban.cards.flow.Change` as ``change``. The
sender is the database engine the change was written to, so a listener that
belongs to one app (automatic sending) hears only its own app's changes.
Listeners run inside the transaction of the change: what they write commits or
rolls back with it (the change feed, the outbox's deliveries); what must wait
for the commit uses :func:`kanban.core.tx.after_commit`. ``create_app``
connects them.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A card was changed (its state, its line, its stock or what it shows).
card_changed = _signals.signal("card-changed")

#: Open lines wait on a supplier's draft without a card change: a send left
#: them out (the supplier was not shown them), so they moved to a new draft.
#: ``supplier_id`` names the supplier.
lines_waiting = _signals.signal("lines-waiting")

#: A supplier request was sent (by email or marked sent); ``request_id`` names it.
request_sent = _signals.signal("request-sent")

#: Every line of a sent supplier request is received; ``request_id`` names it.
request_received = _signals.signal("request-received")
