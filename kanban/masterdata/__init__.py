"""Suppliers, items, zones and bins as records: creating, editing, deactivating and
bringing them back, from the pages and the API, with the same checks (``fields``), record
versions and audit entries (``records``): ``suppliers``, ``items``, ``zones``,
``bin_records`` (a new bin, editing one) and ``bins`` (set-up by name, retiring and
bringing back, renaming codes that break the rules); the bins spreadsheet (``sheet``: its
columns and checks; ``imports``: import, preview and export)."""
