"""The stock ledger: pulls, receipts, counts and undos (``scanning``, idempotent by scan
id, one atomic statement per change), what a scan must pass first (``guards``: bounds, and
the question before an unusual quantity or an over-receipt is booked), a station's recent
scans (``recent``) and ``kanban check`` (``check``). Every change of stock goes to
:func:`kanban.cards.flow.apply` for its card."""
