"""What every package stands on: transactions (``tx``), the change feed (``feed``),
refusals (``errors``), who made a change (``actor``), the ``card_changed``
announcement (``signals``), the audit trail (``audit``) and formula-safe CSV cells
(``csvsafe``). Nothing here knows about stock, cards or requests."""
