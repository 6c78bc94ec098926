"""Bins, items, zones and suppliers as records: creating, retiring and bringing back bins
(``bins``) and the bins spreadsheet (``imports``)."""
