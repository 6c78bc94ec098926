"""Bins, items, zones and suppliers as records: creating, retiring and bringing back bins,
renaming codes that break the rules (``bins``), and the bins spreadsheet (``imports``)."""
