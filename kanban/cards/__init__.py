"""The card flow. ``flow.apply`` is the one function that changes a card: it looks up
the transition (``kanban.domain.cards``), opens, withdraws or cancels the request line
(``lines``), writes the ledger row when the change is a movement, sets the state and
announces ``card_changed``. ``lines`` also books receipts onto open lines."""
