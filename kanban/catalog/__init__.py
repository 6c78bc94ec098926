"""Reading bins: the card view of a bin (one Core query), resolving scanned text to a bin
(code, manufacturer barcode or SKU), a bin's JSON form and its reason line. Entry
module: ``views``. Read-only: nothing here writes."""
