"""What every package stands on: transactions (``tx``), the change feed (``feed``),
refusals (``errors``), who made a change (``actor``) and the ``card_changed``
announcement (``signals``). Nothing here knows about stock, cards or requests."""
