"""The stock ledger: pulls, receipts, counts and undos (``scanning``, idempotent by scan
id, one atomic statement per change) and ``kanban check`` (``check``). Every change of
stock goes to :func:`kanban.cards.flow.apply` for its card."""
